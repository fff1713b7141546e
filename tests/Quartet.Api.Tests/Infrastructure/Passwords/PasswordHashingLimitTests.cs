using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Quartet.Api.Tests.Infrastructure.Passwords;

/// <summary>
/// Password hashing runs under one concurrency limit per process, whichever endpoint asks for it. The
/// number running at once is read from the app's own <c>quartet.password_hashing.active</c> instrument.
/// </summary>
public sealed class PasswordHashingLimitTests(SharedStack shared) : IAsyncLifetime
{
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync() => _factory = await QuartetFactory.CreateAsync(shared.Stack, new Dictionary<string, string?>
    {
        ["Passwords:MaxConcurrent"] = "1",
        ["Passwords:QueueLimit"] = "4",
        ["Throttling:RegistrationsPerIp"] = "1000",
    }, clientIp: "127.0.0.1");

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    /// <summary>Follows the instrument of one app (its meter factory), and keeps the highest value it reached.</summary>
    private sealed class ActiveHashes : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _active;
        private long _peak;
        private long _started;

        public ActiveHashes(IServiceProvider services)
        {
            var scope = services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == scope && instrument.Name == "quartet.password_hashing.active")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, delta, _, _) =>
            {
                var now = Interlocked.Add(ref _active, delta);
                if (delta > 0)
                {
                    Interlocked.Increment(ref _started);
                }
                long peak;
                while (now > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
                {
                }
            });
            _listener.Start();
        }

        public long Peak => Interlocked.Read(ref _peak);
        public long Started => Interlocked.Read(ref _started);

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task AFloodOfRegistrationsLoginsAndPasswordChangesNeverHashesMoreThanTheLimitAtOnceAndRefusesTheOverflowWith503()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        using var active = new ActiveHashes(_factory.Services);

        var statuses = new List<HttpStatusCode>();
        for (var round = 0; round < 5; round++)
        {
            var requests = Enumerable.Range(0, 24).Select(i => (i % 3) switch
            {
                0 => client.PostAsJsonAsync("/api/auth/register", new { email = ApiClient.NewEmail(), password = ApiClient.StrongPassword }),
                1 => client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
                {
                    Content = JsonContent.Create(new { email, password = "wrong password!" }),
                    Headers = { { "X-Forwarded-For", $"2001:db8:{round:x}:{i:x}::1" } },
                }),
                _ => client.PostAsJsonAsync("/api/auth/token", new { email = ApiClient.NewEmail(), password = "no such account" }),
            });
            var responses = await Task.WhenAll(requests);
            foreach (var response in responses)
            {
                statuses.Add(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "urn:quartet:problem:busy");
                    Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
                }
                response.Dispose();
            }
        }

        Assert.Equal(1, active.Peak);
        Assert.True(active.Started >= 5, $"only {active.Started} hashes ran");
        Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses);
        Assert.DoesNotContain(HttpStatusCode.InternalServerError, statuses);
    }

    [Fact]
    public async Task ARequestRefusedForWantOfAHashingSlotDoesNotCountAsAFailedLogin()
    {
        await using var noQueue = _factory.Replica(settings: new Dictionary<string, string?>
        {
            ["Passwords:MaxConcurrent"] = "1",
            ["Passwords:QueueLimit"] = "0",
        });
        using var client = noQueue.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);

        // Many concurrent wrong logins from one client: those refused with 503 give their reservation back,
        // so the account's count from that client is exactly the number of 401s.
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
        {
            Content = JsonContent.Create(new { email, password = "wrong password!" }),
            Headers = { { "X-Forwarded-For", "198.51.100.150" } },
        })));
        var checkedCount = responses.Count(r => r.StatusCode == HttpStatusCode.Unauthorized);
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
        foreach (var response in responses)
        {
            response.Dispose();
        }

        for (var i = checkedCount; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Features.Auth.ThrottleTests.LoginAsync(client, email, "wrong password!", "198.51.100.150")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Features.Auth.ThrottleTests.LoginAsync(client, email, ApiClient.StrongPassword, "198.51.100.150")).StatusCode);
    }
}
