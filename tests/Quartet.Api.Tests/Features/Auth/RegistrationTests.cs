using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Quartet.Api.Tests.Features.Auth;

public sealed class RegistrationTests(SharedStack shared) : ApiTest(shared, signIn: false)
{
    private Task<long> UserCountAsync() => Factory.Stack.ScalarAsync<long>(Factory.Database, "SELECT count(*) FROM users");

    [Fact]
    public async Task RegisteringStoresATrimmedCaseFoldedEmailAndAPbkdf2Hash()
    {
        var local = $"Ann-{Guid.NewGuid():N}";
        using var response = await Client.PostAsJsonAsync("/api/auth/register", new { email = $"  {local}@Example.COM ", password = ApiClient.StrongPassword });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = await response.JsonAsync();
        Assert.Equal($"{local.ToLowerInvariant()}@example.com", body.RootElement.GetProperty("email").GetString());
        Assert.Equal("user", body.RootElement.GetProperty("role").GetString());
        var hash = await Factory.Stack.ScalarAsync<string>(Factory.Database, $"SELECT password_hash FROM users WHERE email = '{local.ToLowerInvariant()}@example.com'");
        Assert.DoesNotContain(ApiClient.StrongPassword, hash!, StringComparison.Ordinal);
        Assert.Equal(0x01, Convert.FromBase64String(hash!)[0]);
    }

    [Fact]
    public async Task TheSameEmailInAnotherCaseIsAConflictAndCreatesNothing()
    {
        var email = ApiClient.NewEmail();
        await Client.RegisterAsync(email);
        var before = await UserCountAsync();

        using var response = await Client.PostAsJsonAsync("/api/auth/register", new { email = email.ToUpperInvariant(), password = ApiClient.StrongPassword });

        await response.AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:conflict");
        Assert.Equal(before, await UserCountAsync());
    }

    [Theory]
    [InlineData("not-an-email", ApiClient.StrongPassword, "email")]
    [InlineData("", ApiClient.StrongPassword, "email")]
    [InlineData("someone@example.com", "eleven char", "password")]
    [InlineData("nul\u0000@example.com", ApiClient.StrongPassword, "email")]
    [InlineData("someone@example.com", null, "password")]
    public async Task InvalidFieldsAre400WithFieldErrorsAndCreateNothing(string email, string? password, string field)
    {
        var before = await UserCountAsync();

        using var response = await Client.PostAsJsonAsync("/api/auth/register", new { email, password });

        var body = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
        Assert.Equal(before, await UserCountAsync());
    }

    [Fact]
    public async Task A129CharacterPasswordIsRefusedAnd128IsAccepted()
    {
        using var tooLong = await Client.PostAsJsonAsync("/api/auth/register", new { email = ApiClient.NewEmail(), password = new string('p', 129) });
        using var longest = await Client.PostAsJsonAsync("/api/auth/register", new { email = ApiClient.NewEmail(), password = new string('p', 128) });

        await tooLong.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
        Assert.Equal(HttpStatusCode.Created, longest.StatusCode);
    }

    [Theory]
    [InlineData("{\"email\": \"a@example.com\", \"password\": ")]
    [InlineData("not json at all")]
    [InlineData("{\"email\": 42, \"password\": []}")]
    [InlineData("")]
    public async Task AMalformedBodyIsA400ProblemNotA500AndCreatesNothing(string json)
    {
        var before = await UserCountAsync();

        using var response = await Client.PostAsync("/api/auth/register", new StringContent(json, Encoding.UTF8, "application/json"));

        var body = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:bad-request");
        Assert.False(string.IsNullOrEmpty(body.GetProperty("requestId").GetString()));
        Assert.DoesNotContain("   at ", body.ToString(), StringComparison.Ordinal); // no stack trace
        Assert.Equal(before, await UserCountAsync());
    }

    [Fact]
    public async Task ABodyAboveTheLimitIs413()
    {
        await using var factory = Factory.Replica(settings: new Dictionary<string, string?> { ["Http:MaxRequestBodyBytes"] = "2048" });
        using var client = factory.CreateHttpsClient();
        var big = $"{{\"email\":\"{ApiClient.NewEmail()}\",\"password\":\"{new string('p', 4000)}\"}}";

        using var response = await client.PostAsync("/api/auth/register", new StringContent(big, Encoding.UTF8, "application/json"));

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "urn:quartet:problem:payload-too-large");
    }
}
