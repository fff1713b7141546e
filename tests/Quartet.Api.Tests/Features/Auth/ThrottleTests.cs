using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.Auth;

public sealed class ThrottleTests(SharedStack shared) : IAsyncLifetime
{
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync() => _factory = await QuartetFactory.CreateAsync(shared.Stack, clientIp: "127.0.0.1");

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    internal static Task<HttpResponseMessage> LoginAsync(HttpClient client, string email, string password, string? forwardedFor = null)
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

    [Fact]
    public async Task RacingWrongPasswordsFromOneClientReachThePasswordCheckExactlyTheLimitEveryRound()
    {
        // Only the per-account-and-client limit (5) binds here; each round comes from a new address.
        await using var replica = _factory.Replica(settings: new Dictionary<string, string?>
        {
            ["Throttling:FailuresPerAccount"] = "100000",
            ["Throttling:FailuresPerIp"] = "100000",
        });
        using var client = replica.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);

        for (var round = 0; round < 50; round++)
        {
            var address = $"198.18.{round / 200}.{round % 200 + 1}";
            var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => LoginAsync(client, email, "wrong password!", address)));

            Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.Unauthorized));
            var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            Assert.Equal(15, refused.Count);
            Assert.All(refused, r => Assert.True(r.Headers.Contains("Retry-After")));
            // 401 is the answer of a password that was checked; the audit trail agrees.
            Assert.Equal(5, await _factory.Stack.ScalarAsync<long>(_factory.Database,
                $"SELECT count(*) FROM audit_log WHERE event = 'login.failed' AND ip = '{address}'"));
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task RacingWrongPasswordsFromManyAddressesReachThePasswordCheckExactlyThePerAccountLimitEveryRound()
    {
        await using var replica = _factory.Replica(settings: new Dictionary<string, string?>
        {
            ["Throttling:FailuresPerAccount"] = "8",
            ["Throttling:RegistrationsPerIp"] = "1000",
        });
        using var client = replica.CreateHttpsClient();

        for (var round = 0; round < 20; round++)
        {
            var email = ApiClient.NewEmail();
            await client.RegisterAsync(email);
            // Every attempt from an address of its own: only the limit across all addresses can stop them.
            var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(i =>
                LoginAsync(client, email, "wrong password!", $"2001:db8:{round:x}:{i:x}::1")));

            Assert.Equal(8, responses.Count(r => r.StatusCode == HttpStatusCode.Unauthorized));
            var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            Assert.Equal(16, refused.Count);
            // A short lock: the owner waits at most the account window (5 minutes), however many addresses guessed.
            Assert.All(refused, r => Assert.InRange(int.Parse(r.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 300));
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task ManyAddressesGuessingOneAccountLockItBrieflyForEveryoneAndASuccessDoesNotResetTheirCount()
    {
        await using var replica = _factory.Replica(settings: new Dictionary<string, string?> { ["Throttling:FailuresPerAccount"] = "4" });
        using var setup = replica.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        var other = ApiClient.NewEmail();
        await setup.RegisterAsync(email);
        await setup.RegisterAsync(other);
        // A client of its own for each attempt: a signed-in browser's next login would need its CSRF token.
        async Task<HttpStatusCode> Attempt(string account, string password, string address)
        {
            using var client = replica.CreateHttpsClient();
            using var response = await LoginAsync(client, account, password, address);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await response.AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
                Assert.InRange(int.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 300);
            }
            return response.StatusCode;
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await Attempt(email, "wrong password!", $"203.0.113.{i + 10}"));
        }
        // The owner's own login still passes, and gives back only its own attempt.
        Assert.Equal(HttpStatusCode.OK, await Attempt(email, ApiClient.StrongPassword, "192.0.2.44"));
        Assert.Equal(HttpStatusCode.Unauthorized, await Attempt(email, "wrong password!", "203.0.113.20"));

        // Locked for a short while (at most the 5-minute account window), whatever the address.
        Assert.Equal(HttpStatusCode.TooManyRequests, await Attempt(email, ApiClient.StrongPassword, "192.0.2.44"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Attempt(email, ApiClient.StrongPassword, "2001:db8:5:5::5"));
        // Other accounts are not affected.
        Assert.Equal(HttpStatusCode.OK, await Attempt(other, ApiClient.StrongPassword, "203.0.113.10"));
    }

    [Fact]
    public async Task Ipv6ClientsAreCountedPerSlash64()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);

        // Five addresses of one /64: one client.
        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, email, "wrong password!", $"2001:db8:aa:1::{i:x}")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(client, email, ApiClient.StrongPassword, "2001:db8:aa:1:ffff:ffff:ffff:ffff")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, email, ApiClient.StrongPassword, "2001:db8:aa:2::1")).StatusCode);
    }

    [Fact]
    public async Task AnIpv4MappedIpv6AddressIsCountedAsItsIpv4Address()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);

        for (var i = 0; i < 5; i++)
        {
            await LoginAsync(client, email, "wrong password!", i % 2 == 0 ? "::ffff:198.51.100.40" : "198.51.100.40");
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(client, email, ApiClient.StrongPassword, "198.51.100.40")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(client, email, ApiClient.StrongPassword, "::ffff:198.51.100.40")).StatusCode);
        // Not every mapped address collapses into one: a neighbour is another client.
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, email, ApiClient.StrongPassword, "::ffff:198.51.100.41")).StatusCode);
    }

    [Fact]
    public async Task RegistrationsAreLimitedPerClientAddress()
    {
        await using var strict = _factory.Replica(settings: new Dictionary<string, string?> { ["Throttling:RegistrationsPerIp"] = "3" });
        using var client = strict.CreateHttpsClient();

        Task<HttpResponseMessage> Register(string address) => client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/auth/register")
        {
            Content = JsonContent.Create(new { email = ApiClient.NewEmail(), password = ApiClient.StrongPassword }),
            Headers = { { "X-Forwarded-For", address } },
        });

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await Register($"2001:db8:77:1::{i + 1:x}")).StatusCode);
        }

        using var refused = await Register("2001:db8:77:1::99");
        var problem = await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
        var retryAfter = int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 3600);
        Assert.Contains($"{retryAfter} seconds", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, (await Register("2001:db8:77:2::1")).StatusCode);
    }
}
