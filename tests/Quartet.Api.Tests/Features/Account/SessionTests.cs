using Microsoft.Extensions.Time.Testing;
using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.Account;

public sealed class SessionTests(SharedStack shared) : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new();
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync() => _factory = await QuartetFactory.CreateAsync(shared.Stack, clock: _clock);

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public async Task ASessionIdleFor30MinutesEndsAndActivitySlidesIt()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();

        _clock.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/auth/me")).StatusCode);
        _clock.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/auth/me")).StatusCode);
        _clock.Advance(TimeSpan.FromMinutes(30));

        await (await client.GetAsync("/api/auth/me")).AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
    }

    [Fact]
    public async Task ASessionEndsAfter12HoursHoweverActive()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();

        for (var elapsed = TimeSpan.Zero; elapsed < TimeSpan.FromHours(11.5); elapsed += TimeSpan.FromMinutes(20))
        {
            _clock.Advance(TimeSpan.FromMinutes(20));
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/auth/me")).StatusCode);
        }
        _clock.Advance(TimeSpan.FromMinutes(40));

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/auth/me")).StatusCode);
    }

    [Fact]
    public async Task ThePassiveSessionCheckAnswersWithoutCountingAsActivity()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();

        _clock.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/auth/session")).StatusCode);
        _clock.Advance(TimeSpan.FromMinutes(15)); // 35 minutes since the last real activity

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/auth/session")).StatusCode);
    }

    [Fact]
    public async Task TheTimeoutsAreConfigurable()
    {
        await using var factory = _factory.Replica(settings: new Dictionary<string, string?> { ["Sessions:IdleTimeout"] = "00:05:00" });
        using var client = factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();

        _clock.Advance(TimeSpan.FromMinutes(6));

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/auth/me")).StatusCode);
    }

    [Fact]
    public async Task AUserListsTheirSessionsAndEndsOneWhichIsRefusedOnItsNextRequest()
    {
        using var laptop = _factory.CreateHttpsClient();
        using var phone = _factory.CreateHttpsClient();
        laptop.DefaultRequestHeaders.UserAgent.ParseAdd("Laptop/1.0");
        phone.DefaultRequestHeaders.UserAgent.ParseAdd("Phone/2.0");
        var email = await laptop.RegisterAndLoginAsync();
        await phone.LoginAsync(email);

        using var listed = await laptop.GetAsync("/api/account/sessions");
        var sessions = (await listed.JsonAsync()).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, sessions.Count);
        var current = Assert.Single(sessions, s => s.GetProperty("current").GetBoolean());
        Assert.Equal("Laptop/1.0", current.GetProperty("userAgent").GetString());
        var phoneSession = Assert.Single(sessions, s => !s.GetProperty("current").GetBoolean());
        Assert.Equal("Phone/2.0", phoneSession.GetProperty("userAgent").GetString());
        Assert.True(phoneSession.GetProperty("createdAt").GetDateTimeOffset() <= phoneSession.GetProperty("lastSeenAt").GetDateTimeOffset());

        using var ended = await laptop.DeleteAsync($"/api/account/sessions/{phoneSession.GetProperty("id").GetString()}");
        Assert.Equal(HttpStatusCode.NoContent, ended.StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.GetAsync("/api/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await laptop.GetAsync("/api/auth/me")).StatusCode);
        Assert.Single((await (await laptop.GetAsync("/api/account/sessions")).JsonAsync()).RootElement.EnumerateArray());
    }

    [Fact]
    public async Task AnotherUsersSessionCannotBeEndedAndLooksLikeNoSession()
    {
        using var alice = _factory.CreateHttpsClient();
        using var bob = _factory.CreateHttpsClient();
        await alice.RegisterAndLoginAsync();
        await bob.RegisterAndLoginAsync();
        var bobSession = (await (await bob.GetAsync("/api/account/sessions")).JsonAsync()).RootElement[0].GetProperty("id").GetString();

        using var response = await alice.DeleteAsync($"/api/account/sessions/{bobSession}");

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync("/api/auth/me")).StatusCode);
    }

    [Fact]
    public async Task RevokeOthersEndsEveryOtherSessionButTheCurrent()
    {
        using var a = _factory.CreateHttpsClient();
        using var b = _factory.CreateHttpsClient();
        using var c = _factory.CreateHttpsClient();
        var email = await a.RegisterAndLoginAsync();
        await b.LoginAsync(email);
        await c.LoginAsync(email);

        using var response = await a.PostAsync("/api/account/sessions/revoke-others", null);

        Assert.Equal(2, (await response.JsonAsync()).RootElement.GetProperty("ended").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync("/api/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await b.GetAsync("/api/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.GetAsync("/api/auth/me")).StatusCode);
    }

    [Fact]
    public async Task ChangingThePasswordEndsOtherSessionsAndRefreshTokensButKeepsThisOne()
    {
        using var a = _factory.CreateHttpsClient();
        using var b = _factory.CreateHttpsClient();
        var email = await a.RegisterAndLoginAsync();
        await b.LoginAsync(email);
        var (_, refresh) = await b.TokenAsync(email);
        const string NewPassword = "an even better passphrase";

        using var wrong = await a.PostAsJsonAsync("/api/account/password", new { currentPassword = "not it at all", newPassword = NewPassword });
        var problem = await wrong.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty("currentPassword", out _));
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync("/api/auth/me")).StatusCode); // nothing changed

        using var changed = await a.PostAsJsonAsync("/api/account/password", new { currentPassword = ApiClient.StrongPassword, newPassword = NewPassword });

        Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync("/api/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await b.GetAsync("/api/auth/me")).StatusCode);
        using var refreshed = await b.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        Assert.Equal(HttpStatusCode.Unauthorized, refreshed.StatusCode);
        await b.LoginAsync(email, NewPassword);
    }

    [Fact]
    public async Task ASessionStartedOnOneAppInstanceWorksOnAnother()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();

        // Another instance (a replica, or this one after a restart) shares nothing in process memory.
        await using var replica = _factory.Replica();
        using var viaReplica = replica.CreateClient(new() { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        var header = await CookieHeaderAsync(client);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/auth/me") { Headers = { { "Cookie", header } } };

        Assert.Equal(HttpStatusCode.OK, (await viaReplica.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task RedisStoresTheSessionUnderAnHmacNotTheCookieValue()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var cookieValue = (await CookieHeaderAsync(client)).Split('=', 2)[1];

        var keys = await _factory.Stack.Redis.CommandAsync("KEYS", $"test:{_factory.Database}:session:*");

        Assert.DoesNotContain(cookieValue, keys, StringComparison.Ordinal);
        Assert.Matches("session:[0-9a-f]{64}$", keys);
    }

    /// <summary>The cookie as the browser would send it, read back through an echo of /api/auth/login's Set-Cookie.</summary>
    private async Task<string> CookieHeaderAsync(HttpClient client)
    {
        // The handler's cookie container is private to the client; log in once more on a raw client to read one.
        var email = (await (await client.GetAsync("/api/auth/me")).JsonAsync()).RootElement.GetProperty("email").GetString();
        using var raw = _factory.CreateClient(new() { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        using var login = await raw.PostAsJsonAsync("/api/auth/login", new { email, password = ApiClient.StrongPassword });
        return login.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
    }
}
