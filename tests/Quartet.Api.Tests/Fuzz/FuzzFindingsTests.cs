using System.Net;

namespace Quartet.Api.Tests.Fuzz;

/// <summary>
/// One test for each 5xx the fuzz suite (OpenApiFuzzTests) found, with the input that caused it,
/// so each cause stays fixed even if the tables of hostile values change.
/// </summary>
public sealed class FuzzFindingsTests(SharedStack shared) : ApiTest(shared, signIn: true)
{
    [Fact]
    public async Task AJsonBodyInACharsetNobodyKnowsIs415NotA500()
    {
        using var anonymous = Factory.CreateHttpsClient();
        foreach (var (client, path) in new[] { (Client, "/api/notes"), (anonymous, "/api/auth/login") })
        {
            using var content = new StringContent("{\"title\":\"a\",\"body\":\"\",\"tags\":[],\"email\":\"a@example.com\",\"password\":\"b\"}");
            content.Headers.Remove("Content-Type");
            content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=nonsense");

            using var response = await client.PostAsync(path, content);

            await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "urn:quartet:problem:http-415");
        }
        Assert.Equal(0L, await Factory.Stack.ScalarAsync<long>(Factory.Database, "SELECT count(*) FROM notes"));
    }
}
