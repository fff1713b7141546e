using System.Net;
using System.Net.Http.Json;
using Quartet.Api.Tests.Features.Auth;

namespace Quartet.Api.Tests.Features.Account;

/// <summary>
/// Every endpoint that checks the current password counts wrong ones like a login of that account
/// from that client: password change and address change.
/// </summary>
public sealed class ReauthenticationThrottleTests(SharedStack shared) : IAsyncLifetime
{
    private const string Address = "198.51.100.90";
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync() => _factory = await QuartetFactory.CreateAsync(shared.Stack, clientIp: "127.0.0.1");

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    public static TheoryData<string> Endpoints => ["password", "email"];

    private static Task<HttpResponseMessage> ReauthenticateAsync(HttpClient client, string endpoint, string currentPassword, string address = Address)
    {
        var request = endpoint == "password"
            ? new HttpRequestMessage(HttpMethod.Post, "/api/account/password") { Content = JsonContent.Create(new { currentPassword, newPassword = "a brand new passphrase" }) }
            : new HttpRequestMessage(HttpMethod.Put, "/api/account/email") { Content = JsonContent.Create(new { email = ApiClient.NewEmail("moved"), currentPassword }) };
        request.Headers.Add("X-Forwarded-For", address);
        return client.SendAsync(request);
    }

    private static async Task<(HttpClient Client, string Email)> SignedInAsync(QuartetFactory factory)
    {
        var client = factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        using var login = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
        {
            Content = JsonContent.Create(new { email, password = ApiClient.StrongPassword }),
            Headers = { { "X-Forwarded-For", "192.0.2.200" } },
        };
        using var response = await client.SendAsync(login);
        var csrf = (await response.JsonAsync()).RootElement.GetProperty("csrfToken").GetString()!;
        client.DefaultRequestHeaders.Add("X-CSRF-Token", csrf);
        return (client, email);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task FiveWrongCurrentPasswordsRefuseTheSixthWith429AndRetryAfterEvenWhenRight(string endpoint)
    {
        var (client, _) = await SignedInAsync(_factory);
        using var _c = client;
        for (var i = 0; i < 5; i++)
        {
            using var wrong = await ReauthenticateAsync(client, endpoint, "not the password");
            var problem = await wrong.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
            Assert.True(problem.GetProperty("errors").TryGetProperty("currentPassword", out _));
        }

        using var refused = await ReauthenticateAsync(client, endpoint, ApiClient.StrongPassword);

        var body = await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
        var retryAfter = int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 15 * 60);
        Assert.Contains($"{retryAfter} seconds", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // Nothing changed: the old password still logs in (from elsewhere).
        Assert.Equal(HttpStatusCode.OK, (await ThrottleTests.LoginAsync(_factory.CreateHttpsClient(), (await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/auth/me")).GetProperty("email").GetString()!,
            ApiClient.StrongPassword, "192.0.2.201")).StatusCode);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task WrongCurrentPasswordsCountTowardTheLoginThrottleOfThatAccountAndClient(string endpoint)
    {
        var (client, email) = await SignedInAsync(_factory);
        using var _c = client;
        for (var i = 0; i < 5; i++)
        {
            using var wrong = await ReauthenticateAsync(client, endpoint, "not the password");
        }

        using var anonymous = _factory.CreateHttpsClient();
        Assert.Equal(HttpStatusCode.TooManyRequests, (await ThrottleTests.LoginAsync(anonymous, email, ApiClient.StrongPassword, Address)).StatusCode);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task RacingWrongCurrentPasswordsReachThePasswordCheckExactlyTheLimit(string endpoint)
    {
        // Only the per-account-and-client limit binds: each round comes from a new address.
        await using var replica = _factory.Replica(settings: new Dictionary<string, string?> { ["Throttling:FailuresPerAccount"] = "100000" });
        var (client, _) = await SignedInAsync(replica);
        using var _c = client;
        for (var round = 0; round < 10; round++)
        {
            var address = $"198.18.90.{round + 1}";
            var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => ReauthenticateAsync(client, endpoint, "not the password", address)));

            Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.BadRequest));
            Assert.Equal(11, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }
}
