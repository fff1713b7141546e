using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;

namespace Quartet.Api.Tests.Features.Auth;

/// <summary>
/// The auth epoch's copy in Redis (decision 0014): what the hot path pays for it, what happens when Redis loses
/// it or PostgreSQL raises it alone, and the sessions and tokens made before epochs existed. Owns its servers,
/// so the round trips counted are this test's alone.
/// </summary>
public sealed class AuthEpochTests(PrivateStack privateStack) : IClassFixture<PrivateStack>, IAsyncLifetime
{
    private TestStack _stack = null!;
    private QuartetFactory _factory = null!;
    private HttpClient _admin = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = privateStack.Stack;
        _factory = new QuartetFactory(_stack, await _stack.CreateDatabaseAsync());
        _admin = _factory.CreateHttpsClient();
        var email = await _admin.RegisterAndLoginAsync(ApiClient.NewEmail("admin"));
        await _stack.ExecuteAsync(_factory.Database, $"UPDATE users SET role = 'admin' WHERE email = '{email}'");
        await _admin.LoginAsync(email);
    }

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        await _factory.DisposeAsync();
    }

    private string Key(string key) => $"test:{_factory.Database}:{key}";

    private async Task<(Guid Id, HttpClient Browser, string Access, string Refresh)> SignedInUserAsync()
    {
        var browser = _factory.CreateHttpsClient();
        var email = await browser.RegisterAndLoginAsync();
        var (access, refresh) = await browser.TokenAsync(email);
        var id = (await (await browser.GetAsync("/api/auth/me")).JsonAsync()).RootElement.GetProperty("id").GetGuid();
        return (id, browser, access, refresh);
    }

    private async Task<HttpStatusCode> MeAsync(HttpClient client, string access)
    {
        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/auth/me").WithBearer(access));
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> RefreshAsync(HttpClient client, string refresh)
    {
        using var response = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        return response.StatusCode;
    }

    private async Task AssertEndedAsync(HttpClient browser, string access, string refresh)
    {
        await (await browser.GetAsync("/api/auth/me")).AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
        var problem = await (await browser.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/auth/me").WithBearer(access)))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
        Assert.Equal("The access token has expired.", problem.GetProperty("detail").GetString());
        await (await browser.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-token");
    }

    [Fact]
    public async Task ABearerRequestIsOneRedisRoundTrip()
    {
        var (_, browser, access, _) = await SignedInUserAsync();
        using var client = _factory.CreateHttpsClient();
        Assert.Equal(HttpStatusCode.OK, await MeAsync(client, access));

        await using var monitor = await RedisMonitor.StartAsync(_stack.Redis);
        var status = await MeAsync(client, access);
        var commands = await monitor.StopAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        var command = Assert.Single(commands);
        Assert.Matches("\"(?i:evalsha|eval)\"", command);
        Assert.Contains(":epoch\"", command, StringComparison.Ordinal);
        browser.Dispose();
    }

    [Fact]
    public async Task WhenRedisHasLostTheEpochItIsReadBackFromPostgreSqlAndTheRevocationHolds()
    {
        var (id, browser, access, refresh) = await SignedInUserAsync();
        // The epoch rises in PostgreSQL with the trigger off (nothing queued for Redis), then Redis loses its copy:
        // only PostgreSQL knows, and the sessions and tokens are still in Redis.
        await _stack.ExecuteAsync(_factory.Database,
            $"SET session_replication_role = replica; UPDATE users SET auth_epoch = auth_epoch + 1 WHERE id = '{id}'; SET session_replication_role = DEFAULT");
        await _stack.Redis.CommandAsync("DEL", Key($"user:{id}:epoch"));
        Assert.Equal("1", await _stack.Redis.CommandAsync("EXISTS", Key($"refresh:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(refresh)))}")));

        await AssertEndedAsync(browser, access, refresh);

        Assert.Equal("1", await _stack.Redis.CommandAsync("GET", Key($"user:{id}:epoch")));
        using var again = _factory.CreateHttpsClient();
        await again.LoginAsync((await _stack.ScalarAsync<string>(_factory.Database, $"SELECT email FROM users WHERE id = '{id}'"))!);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/api/auth/me")).StatusCode);
        browser.Dispose();
    }

    [Fact]
    public async Task AnEpochRaisedInPostgreSqlAloneReachesRedisWithoutARequest()
    {
        var (id, browser, access, refresh) = await SignedInUserAsync();

        // As migrate, an operator by hand, or a request whose Redis call failed after the commit would leave it.
        await _stack.ExecuteAsync(_factory.Database, $"UPDATE users SET auth_epoch = auth_epoch + 1 WHERE id = '{id}'");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (await _stack.Redis.CommandAsync("GET", Key($"user:{id}:epoch")) != "1" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await AssertEndedAsync(browser, access, refresh);
        Assert.Equal(0L, await _stack.ScalarAsync<long>(_factory.Database, $"SELECT count(*) FROM auth_epoch_outbox WHERE user_id = '{id}'"));
        browser.Dispose();
    }

    [Fact]
    public async Task APasswordChangeDoesNotKeepItsSessionPastASignOutThatCommittedBeforeIt()
    {
        var (id, browser, _, _) = await SignedInUserAsync();
        // An admin's sign-out has committed in PostgreSQL but not yet reached Redis (the trigger off stands in for
        // the moment between the two); then the session changes the password.
        await _stack.ExecuteAsync(_factory.Database,
            $"SET session_replication_role = replica; UPDATE users SET auth_epoch = auth_epoch + 1 WHERE id = '{id}'; SET session_replication_role = DEFAULT");

        using var change = await browser.PostAsJsonAsync("/api/account/password",
            new { currentPassword = ApiClient.StrongPassword, newPassword = "a brand new passphrase" });

        Assert.Equal(HttpStatusCode.NoContent, change.StatusCode);
        // Kept only when the change's own raise was the next one: here the sign-out came first, so the session ends.
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/auth/me")).StatusCode);
        using var again = _factory.CreateHttpsClient();
        await again.LoginAsync((await _stack.ScalarAsync<string>(_factory.Database, $"SELECT email FROM users WHERE id = '{id}'"))!, "a brand new passphrase");
        using var second = await again.PostAsJsonAsync("/api/account/password",
            new { currentPassword = "a brand new passphrase", newPassword = "yet another passphrase" });
        Assert.Equal(HttpStatusCode.NoContent, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/api/auth/me")).StatusCode);
        browser.Dispose();
    }

    [Fact]
    public async Task ASessionAndARefreshFamilyFromBeforeEpochsCountAsEpochZeroUntilTheFirstRevocation()
    {
        var (id, browser, _, refresh) = await SignedInUserAsync();
        var sessionId = (await (await browser.GetAsync("/api/account/sessions")).JsonAsync()).RootElement[0].GetProperty("id").GetString();
        await _stack.Redis.CommandAsync("HDEL", Key($"session:{sessionId}"), "ep");
        await _stack.Redis.CommandAsync("HDEL", Key($"refresh:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(refresh)))}"), "ep");

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/auth/me")).StatusCode);
        using var rotated = await browser.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        using var body = await rotated.JsonAsync();
        var (access, next) = (body.RootElement.GetProperty("accessToken").GetString()!, body.RootElement.GetProperty("refreshToken").GetString()!);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(browser, access));

        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/admin/users/{id}/end-sessions", null)).StatusCode);

        await AssertEndedAsync(browser, access, next);
        browser.Dispose();
    }

    [Fact]
    public async Task AnAccessTokenFromBeforeEpochsWorksUntilTheFirstRevocationAndTheOldMarkStillHolds()
    {
        var (id, browser, access, _) = await SignedInUserAsync();
        var claims = System.Text.Json.Nodes.JsonNode.Parse(Base64Url.DecodeFromChars(access.Split('.')[1]))!.AsObject();
        claims.Remove("epoch");
        claims.Remove("sid");
        var legacy = Sign(claims.ToJsonString());
        var iat = claims["iat"]!.GetValue<long>();
        Assert.Equal(HttpStatusCode.OK, await MeAsync(browser, legacy));

        // The whole-second mark that releases before epochs wrote still refuses what it refused then.
        await _stack.Redis.CommandAsync("SET", Key($"user:{id}:tokens-revoked-before"), iat.ToString(System.Globalization.CultureInfo.InvariantCulture), "EX", "960");
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(browser, legacy));
        await _stack.Redis.CommandAsync("DEL", Key($"user:{id}:tokens-revoked-before"));
        Assert.Equal(HttpStatusCode.OK, await MeAsync(browser, legacy));

        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/admin/users/{id}/end-sessions", null)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(browser, legacy));
        browser.Dispose();
    }

    private string Sign(string payload)
    {
        var signingInput = Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload));
        var key = Encoding.UTF8.GetBytes(_factory.Secrets.Values["jwt_secret"]);
        return signingInput + "." + Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(signingInput)));
    }
}
