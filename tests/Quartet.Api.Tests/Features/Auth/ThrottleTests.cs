using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.Auth;

public sealed class ThrottleTests(SharedStack shared) : IAsyncLifetime
{
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync() => _factory = await QuartetFactory.CreateAsync(shared.Stack, clientIp: "127.0.0.1");

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string email, string password, string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = JsonContent.Create(new { email, password }) };
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }
        return client.SendAsync(request);
    }

    [Fact]
    public async Task FiveFailuresFromOneIpLockTheAccountForThatIpWith429AndRetryAfter()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, email, "wrong password!", "203.0.113.5")).StatusCode);
        }

        using var blocked = await LoginAsync(client, email, ApiClient.StrongPassword, "203.0.113.5");

        var problem = await blocked.AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
        var retryAfter = int.Parse(blocked.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 15 * 60);
        Assert.Contains($"{retryAfter} seconds", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // The token endpoint shares the count; another IP is not locked out of the account.
        using var token = new HttpRequestMessage(HttpMethod.Post, "/api/auth/token")
        {
            Content = JsonContent.Create(new { email, password = ApiClient.StrongPassword }),
            Headers = { { "X-Forwarded-For", "203.0.113.5" } },
        };
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.SendAsync(token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, email, ApiClient.StrongPassword, "203.0.113.6")).StatusCode);
    }

    [Fact]
    public async Task FailuresAreCountedAcrossReplicasSharingRedis()
    {
        await using var replica = _factory.Replica();
        using var a = _factory.CreateHttpsClient();
        using var b = replica.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await a.RegisterAsync(email);

        for (var i = 0; i < 5; i++)
        {
            await LoginAsync(i % 2 == 0 ? a : b, email, "wrong password!", "198.51.100.7");
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(b, email, ApiClient.StrongPassword, "198.51.100.7")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(a, email, ApiClient.StrongPassword, "198.51.100.7")).StatusCode);
    }

    [Fact]
    public async Task ManyAccountsFromOneIpHitThePerIpLimit()
    {
        await using var strict = _factory.Replica(settings: new Dictionary<string, string?> { ["Throttling:FailuresPerIp"] = "3" });
        using var client = strict.CreateHttpsClient();
        var victim = ApiClient.NewEmail();
        await client.RegisterAsync(victim);

        for (var i = 0; i < 3; i++)
        {
            await LoginAsync(client, ApiClient.NewEmail(), "spraying passwords", "192.0.2.99");
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(client, victim, ApiClient.StrongPassword, "192.0.2.99")).StatusCode);
    }

    [Fact]
    public async Task AForgedForwardedForFromAnUntrustedPeerIsIgnored()
    {
        // The peer 10.9.9.9 is outside the trusted proxy networks: its X-Forwarded-For is not believed,
        // so changing the header on every try does not escape the count.
        await using var direct = _factory.Replica(clientIp: "10.9.9.9");
        using var client = direct.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);

        for (var i = 0; i < 5; i++)
        {
            await LoginAsync(client, email, "wrong password!", $"192.0.2.{i}");
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(client, email, ApiClient.StrongPassword, "192.0.2.200")).StatusCode);
        Assert.Equal("10.9.9.9", await _factory.Stack.ScalarAsync<string>(_factory.Database,
            $"SELECT ip FROM audit_log WHERE event = 'login.failed' AND detail->>'email' = '{email}' LIMIT 1"));
    }

    [Fact]
    public async Task ATrustedProxysForwardedForIsTheClientIp()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);

        await LoginAsync(client, email, ApiClient.StrongPassword, "198.51.100.23");

        Assert.Equal("198.51.100.23", await _factory.Stack.ScalarAsync<string>(_factory.Database,
            $"SELECT a.ip FROM audit_log a JOIN users u ON u.id = a.user_id WHERE a.event = 'login.succeeded' AND u.email = '{email}'"));
    }
}
