using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Quartet.Api.Infrastructure.Passwords;

namespace Quartet.Api.Tests.Features.Auth;

/// <summary>
/// Issue 12, class 1: a revocation is one atomic step that nothing issued before or during it outlives. Each test
/// releases the two competing requests together through a gate, many times over, against the real backend,
/// PostgreSQL and Redis, then checks that no session, refresh token or access token from before or during the
/// revocation still works. The app's clock is frozen for the whole class: every request of a race, and every
/// race, happens in the same millisecond, so nothing here can pass by whole-second (or any) timing.
/// </summary>
public sealed class AuthRaceTests(SharedStack shared) : IAsyncLifetime
{
    private const int Iterations = 50;
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly string _hash = new PasswordHashing(Options.Create(new PasswordHashingOptions())).Hash(ApiClient.StrongPassword);
    private QuartetFactory _factory = null!;
    private HttpClient _admin = null!;

    public async ValueTask InitializeAsync()
    {
        // Logins that lose a race fail by design; many of them come from the test server's one address.
        _factory = await QuartetFactory.CreateAsync(shared.Stack, new Dictionary<string, string?>
        {
            ["Throttling:FailuresPerIp"] = "100000",
            ["Throttling:FailuresPerAccountAndIp"] = "10000",
        }, clock: _clock);
        var (_, adminEmail) = await NewUserAsync("admin");
        _admin = _factory.CreateHttpsClient();
        await _admin.LoginAsync(adminEmail);
    }

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task ARotationRacingRevokeNeverLeavesAUsableToken()
    {
        var rotated = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var (_, email) = await NewUserAsync();
            using var client = _factory.CreateHttpsClient();
            var (access, refresh) = await client.TokenAsync(email);

            var (rotation, revoke) = await RaceAsync(() => RefreshAsync(client, refresh), () => PostAsync(client, "/api/auth/revoke", new { refreshToken = refresh }));

            Assert.Equal(HttpStatusCode.NoContent, revoke.Status);
            rotated += rotation.Status == HttpStatusCode.OK ? 1 : 0;
            await AssertAllRefusedAsync(client, [access, rotation.Access], [refresh, rotation.Refresh]);
        }
        TestContext.Current.SendDiagnosticMessage($"rotation answered 200 in {rotated} of {Iterations} races");
    }

    [Fact]
    public async Task TwoRotationsOfTheSameTokenRacingLeaveOneWinnerWhoseTokensAreRevokedAsReuse()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var (id, email) = await NewUserAsync();
            using var client = _factory.CreateHttpsClient();
            var (access, refresh) = await client.TokenAsync(email);

            var (first, second) = await RaceAsync(() => RefreshAsync(client, refresh), () => RefreshAsync(client, refresh));

            Assert.Equal(1, new[] { first, second }.Count(a => a.Status == HttpStatusCode.OK));
            Assert.Contains(HttpStatusCode.Unauthorized, new[] { first.Status, second.Status });
            await AssertAllRefusedAsync(client, [access, first.Access, second.Access], [refresh, first.Refresh, second.Refresh]);
            Assert.Equal(1L, await _factory.Stack.ScalarAsync<long>(_factory.Database,
                $"SELECT count(*) FROM audit_log WHERE event = 'refresh.reused' AND user_id = '{id}'"));
        }
    }

    [Fact]
    public async Task ARotationRacingAPasswordChangeLeavesNoTokenIssuedBeforeOrDuringIt()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var (_, email) = await NewUserAsync();
            using var browser = _factory.CreateHttpsClient();
            await browser.LoginAsync(email);
            using var api = _factory.CreateHttpsClient();
            var (access, refresh) = await api.TokenAsync(email);

            var (rotation, change) = await RaceAsync(() => RefreshAsync(api, refresh),
                () => PostAsync(browser, "/api/account/password", new { currentPassword = ApiClient.StrongPassword, newPassword = "a brand new passphrase " + i }));

            Assert.Equal(HttpStatusCode.NoContent, change.Status);
            await AssertAllRefusedAsync(api, [access, rotation.Access], [refresh, rotation.Refresh]);
            // The session that changed the password stays.
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/auth/me")).StatusCode);
        }
    }

    [Fact]
    public async Task ARotationRacingADisableLeavesNoTokenIssuedBeforeOrDuringIt()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var (id, email) = await NewUserAsync();
            using var client = _factory.CreateHttpsClient();
            var (access, refresh) = await client.TokenAsync(email);

            var (rotation, disable) = await RaceAsync(() => RefreshAsync(client, refresh), () => PostAsync(_admin, $"/api/admin/users/{id}/disable", null));

            Assert.Equal(HttpStatusCode.NoContent, disable.Status);
            await AssertAllRefusedAsync(client, [access, rotation.Access], [refresh, rotation.Refresh]);
        }
    }

    [Fact]
    public async Task ARotationRacingAnAdminSignOutLeavesNoTokenIssuedBeforeOrDuringIt()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var (id, email) = await NewUserAsync();
            using var client = _factory.CreateHttpsClient();
            var (access, refresh) = await client.TokenAsync(email);

            var (rotation, signOut) = await RaceAsync(() => RefreshAsync(client, refresh), () => PostAsync(_admin, $"/api/admin/users/{id}/end-sessions", null));

            Assert.Equal(HttpStatusCode.OK, signOut.Status);
            await AssertAllRefusedAsync(client, [access, rotation.Access], [refresh, rotation.Refresh]);
        }
    }

    [Fact]
    public async Task ALoginAndATokenRequestRacingADisableLeaveNoSessionOrToken()
    {
        var signedIn = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var (id, email) = await NewUserAsync();
            using var browser = _factory.CreateHttpsClient();
            using var api = _factory.CreateHttpsClient();
            var credentials = new { email, password = ApiClient.StrongPassword };

            var (login, token, disable) = await RaceAsync(() => PostAsync(browser, "/api/auth/login", credentials),
                () => PostAsync(api, "/api/auth/token", credentials), () => PostAsync(_admin, $"/api/admin/users/{id}/disable", null));

            Assert.Equal(HttpStatusCode.NoContent, disable.Status);
            Assert.Contains(login.Status, new[] { HttpStatusCode.OK, HttpStatusCode.Unauthorized });
            signedIn += login.Status == HttpStatusCode.OK ? 1 : 0;
            Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/auth/me")).StatusCode);
            await AssertAllRefusedAsync(api, [token.Access], [token.Refresh]);
        }
        TestContext.Current.SendDiagnosticMessage($"login answered 200 in {signedIn} of {Iterations} races");
    }

    [Fact]
    public async Task ALoginAndATokenRequestWithTheOldPasswordRacingAPasswordChangeLeaveNoSessionOrToken()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var (_, email) = await NewUserAsync();
            using var owner = _factory.CreateHttpsClient();
            await owner.LoginAsync(email);
            using var browser = _factory.CreateHttpsClient();
            using var api = _factory.CreateHttpsClient();
            var credentials = new { email, password = ApiClient.StrongPassword };

            var (login, token, change) = await RaceAsync(() => PostAsync(browser, "/api/auth/login", credentials),
                () => PostAsync(api, "/api/auth/token", credentials),
                () => PostAsync(owner, "/api/account/password", new { currentPassword = ApiClient.StrongPassword, newPassword = "a brand new passphrase " + i }));

            Assert.Equal(HttpStatusCode.NoContent, change.Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/auth/me")).StatusCode);
            await AssertAllRefusedAsync(api, [token.Access], [token.Refresh]);
            Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/api/auth/me")).StatusCode);
        }
    }

    [Fact]
    public async Task SessionsAndTokensIssuedInTheSameMillisecondAsASignOutWorkExactlyWhenIssuedAfterIt()
    {
        var (id, email) = await NewUserAsync();
        using var before = _factory.CreateHttpsClient();
        await before.LoginAsync(email);
        var (accessBefore, refreshBefore) = await before.TokenAsync(email);

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(_admin, $"/api/admin/users/{id}/end-sessions", null)).Status);
        using var after = _factory.CreateHttpsClient();
        await after.LoginAsync(email);
        var (accessAfter, refreshAfter) = await after.TokenAsync(email);

        // The clock has not moved: the same iat second and millisecond on both sides of the sign-out.
        Assert.Equal(Claims(accessBefore)["iat"]!.GetValue<long>(), Claims(accessAfter)["iat"]!.GetValue<long>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await before.GetAsync("/api/auth/me")).StatusCode);
        await AssertAllRefusedAsync(before, [accessBefore], [refreshBefore]);
        Assert.Equal(HttpStatusCode.OK, (await after.GetAsync("/api/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(after, accessAfter));
        Assert.Equal(HttpStatusCode.OK, (await RefreshAsync(after, refreshAfter)).Status);
    }

    [Fact]
    public async Task ATokenRequestRacingASignOutInTheSameMillisecondWorksExactlyWhenItsEpochIsCurrent()
    {
        var (older, current) = (0, 0);
        for (var i = 0; i < Iterations; i++)
        {
            var (id, email) = await NewUserAsync();
            using var client = _factory.CreateHttpsClient();
            var credentials = new { email, password = ApiClient.StrongPassword };

            var (token, signOut) = await RaceAsync(() => PostAsync(client, "/api/auth/token", credentials),
                () => PostAsync(_admin, $"/api/admin/users/{id}/end-sessions", null));

            Assert.Equal(HttpStatusCode.OK, signOut.Status);
            Assert.Equal(HttpStatusCode.OK, token.Status);
            var epoch = await _factory.Stack.ScalarAsync<long>(_factory.Database, $"SELECT auth_epoch FROM users WHERE id = '{id}'");
            if (Claims(token.Access!)["epoch"]!.GetValue<long>() < epoch)
            {
                older++;
                await AssertAllRefusedAsync(client, [token.Access], [token.Refresh]);
            }
            else
            {
                current++;
                Assert.Equal(HttpStatusCode.OK, await MeAsync(client, token.Access!));
            }
        }
        TestContext.Current.SendDiagnosticMessage($"tokens under the old epoch: {older}, under the new one: {current}");
    }

    /// <summary>An account with a verified address, made in SQL with a hash computed once (each race still hashes as the real requests do).</summary>
    private async Task<(Guid Id, string Email)> NewUserAsync(string role = "user")
    {
        var id = Guid.CreateVersion7();
        var email = ApiClient.NewEmail("race");
        await _factory.Stack.ExecuteAsync(_factory.Database,
            $"INSERT INTO users (id, email, password_hash, role, email_verified_at) VALUES ('{id}', '{email}', '{_hash}', '{role}', now())");
        return (id, email);
    }

    /// <summary>An answer, with the tokens it carried (if any).</summary>
    private sealed record Answer(HttpStatusCode Status, string? Access, string? Refresh);

    private static async Task<Answer> PostAsync(HttpClient client, string path, object? body)
    {
        using var response = body is null ? await client.PostAsync(path, null) : await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode < 500, $"{path}: {(int)response.StatusCode} {text}");
        if (response.StatusCode != HttpStatusCode.OK || !text.Contains("refreshToken", StringComparison.Ordinal))
        {
            return new(response.StatusCode, null, null);
        }
        using var json = JsonDocument.Parse(text);
        return new(response.StatusCode, json.RootElement.GetProperty("accessToken").GetString(), json.RootElement.GetProperty("refreshToken").GetString());
    }

    private static Task<Answer> RefreshAsync(HttpClient client, string refresh) => PostAsync(client, "/api/auth/refresh", new { refreshToken = refresh });

    private static async Task<HttpStatusCode> MeAsync(HttpClient client, string access)
    {
        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/auth/me").WithBearer(access));
        return response.StatusCode;
    }

    /// <summary>Every access token (nulls skipped) is refused on /me, and every refresh token by /refresh.</summary>
    private static async Task AssertAllRefusedAsync(HttpClient client, string?[] accessTokens, string?[] refreshTokens)
    {
        foreach (var access in accessTokens.OfType<string>())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(client, access));
        }
        foreach (var refresh in refreshTokens.OfType<string>())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await RefreshAsync(client, refresh)).Status);
        }
    }

    private static JsonObject Claims(string token) => JsonNode.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]))!.AsObject();

    /// <summary>Starts each request on its own thread, waits until all are at the gate, then opens it.</summary>
    private static async Task<T[]> RaceAllAsync<T>(params Func<Task<T>>[] requests)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var ready = new CountdownEvent(requests.Length);
        var running = requests.Select(request => Task.Run(async () =>
        {
            ready.Signal();
            await gate.Task;
            return await request();
        })).ToArray();
        await Task.Run(() => ready.Wait(TimeSpan.FromSeconds(10)));
        gate.SetResult();
        return await Task.WhenAll(running);
    }

    private static async Task<(T1, T2)> RaceAsync<T1, T2>(Func<Task<T1>> first, Func<Task<T2>> second)
    {
        var answers = await RaceAllAsync<object>(async () => (await first())!, async () => (await second())!);
        return ((T1)answers[0], (T2)answers[1]);
    }

    private static async Task<(T1, T2, T3)> RaceAsync<T1, T2, T3>(Func<Task<T1>> first, Func<Task<T2>> second, Func<Task<T3>> third)
    {
        var answers = await RaceAllAsync<object>(async () => (await first())!, async () => (await second())!, async () => (await third())!);
        return ((T1)answers[0], (T2)answers[1], (T3)answers[2]);
    }
}
