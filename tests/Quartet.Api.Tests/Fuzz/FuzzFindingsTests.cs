using System.Buffers.Text;
using System.Net;
using System.Text;

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

    [Fact]
    public async Task AnAdminUsersPageNearInt32MaxIsAnEmptyPageNotA500()
    {
        using var admin = Factory.CreateHttpsClient();
        var email = ApiClient.NewEmail("admin");
        await admin.RegisterAsync(email);
        await Factory.Stack.ExecuteAsync(Factory.Database, $"UPDATE users SET role = 'admin' WHERE email = '{email}'");
        await admin.LoginAsync(email);

        using var response = await admin.GetAsync("/api/admin/users?page=2147483647&pageSize=100");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = (await response.JsonAsync()).RootElement;
        Assert.Empty(page.GetProperty("items").EnumerateArray());
        Assert.Equal(int.MaxValue, page.GetProperty("page").GetInt32());
        Assert.True(page.GetProperty("total").GetInt64() >= 2);
    }

    [Fact]
    public async Task ACursorWhoseTimeIsBeyondWhatADateTimeHoldsIsAValidationErrorNotA500()
    {
        await Client.CreateNoteAsync("one");
        foreach (var micros in new[] { "922337203685477580", "9223372036854775807", "253402300800000000" })
        {
            var cursor = Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{micros}|{Guid.NewGuid():N}|"));

            using var response = await Client.GetAsync($"/api/notes?cursor={cursor}");

            var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
            Assert.True(problem.GetProperty("errors").TryGetProperty("cursor", out _), micros);
        }
    }

    [Fact]
    public async Task AStarInsideAnIfMatchListNamesNoVersionInsteadOfFailing()
    {
        var note = await Client.CreateNoteAsync("one");

        using (var replaced = await Client.PutNoteAsync(note.Id, new { title = "two", body = "", tags = Array.Empty<string>() }, "*, \"1\""))
        {
            Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
            Assert.Equal("\"2\"", replaced.Headers.ETag?.ToString());
        }
        using (var stale = await Client.DeleteNoteAsync(note.Id, "*, \"1\""))
        {
            await stale.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "urn:quartet:problem:precondition-failed");
        }
        using var onlyStars = await Client.DeleteNoteAsync(note.Id, "*, *");
        await onlyStars.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "urn:quartet:problem:precondition-failed");
        using var still = await Client.GetAsync($"/api/notes/{note.Id}");
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
    }
}
