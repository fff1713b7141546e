using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Passwords;

namespace Quartet.Api.Tests.Features.Admin;

public sealed class AdminTests(SharedStack shared) : IAsyncLifetime
{
    private const string AdminPassword = "the admin's own passphrase";
    private QuartetFactory _factory = null!;
    private string _adminEmail = null!;

    public async ValueTask InitializeAsync()
    {
        _factory = await QuartetFactory.CreateAsync(shared.Stack);
        _adminEmail = ApiClient.NewEmail("admin");
        var result = await RunMigrateAsync(_adminEmail, AdminPassword);
        Assert.True(result.ExitCode == 0, result.Error);
    }

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    /// <summary>`migrate` as the container runs it: ADMIN_EMAIL plus the hash in admin_password_hash.</summary>
    private async Task<BackendProcess.Result> RunMigrateAsync(string email, string password, IDictionary<string, string?>? settings = null,
        params string[] arguments)
    {
        var hash = new PasswordHashing(Options.Create(new PasswordHashingOptions())).Hash(password);
        var hashFile = Path.Combine(TestPaths.NewDirectory("admin"), "admin_password_hash");
        await File.WriteAllTextAsync(hashFile, hash + "\n");
        var environment = BackendProcess.Environment(_factory.Stack, _factory.Database, _factory.Secrets);
        environment["ADMIN_EMAIL"] = email;
        environment["ADMIN_PASSWORD_HASH_FILE"] = hashFile;
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }
        return await BackendProcess.RunAsync(environment, null, ["migrate", .. arguments]);
    }

    /// <summary>Waits (at most a minute) until the cookie session is refused: migrate raises the epoch in PostgreSQL, and the running backend copies it to Redis.</summary>
    private static async Task<HttpStatusCode> SessionStatusOnceEndedAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var status = (await client.GetAsync("/api/auth/me")).StatusCode;
            if (status != HttpStatusCode.OK || DateTime.UtcNow > deadline)
            {
                return status;
            }
            await Task.Delay(100);
        }
    }

    private async Task<HttpClient> AdminAsync()
    {
        var client = _factory.CreateHttpsClient();
        await client.LoginAsync(_adminEmail, AdminPassword);
        return client;
    }

    private async Task<Guid> IdOfAsync(HttpClient client) =>
        (await (await client.GetAsync("/api/auth/me")).JsonAsync()).RootElement.GetProperty("id").GetGuid();

    [Fact]
    public async Task MigrateCreatesTheFirstAdminAndUpdatesItsHashWhenTheSecretChanges()
    {
        using (var admin = await AdminAsync())
        {
            Assert.Equal("admin", (await (await admin.GetAsync("/api/auth/me")).JsonAsync()).RootElement.GetProperty("role").GetString());
        }

        var rerun = await RunMigrateAsync(_adminEmail, "a rotated admin passphrase");

        Assert.Equal(0, rerun.ExitCode);
        Assert.Contains("updated", rerun.Output, StringComparison.Ordinal);
        using var client = _factory.CreateHttpsClient();
        await client.LoginAsync(_adminEmail, "a rotated admin passphrase");
        Assert.Equal(1L, await _factory.Stack.ScalarAsync<long>(_factory.Database, $"SELECT count(*) FROM users WHERE email = '{_adminEmail}'"));
        // Put it back for the other tests of this class.
        Assert.Equal(0, (await RunMigrateAsync(_adminEmail, AdminPassword)).ExitCode);
    }

    [Fact]
    public async Task ReplacingTheAdminPasswordWithMigrateEndsTheAdminsSessionsAndTokens()
    {
        using var admin = await AdminAsync();
        var (access, refresh) = await admin.TokenAsync(_adminEmail, AdminPassword);

        Assert.Equal(0, (await RunMigrateAsync(_adminEmail, "another admin passphrase")).ExitCode);

        Assert.Equal(HttpStatusCode.Unauthorized, await SessionStatusOnceEndedAsync(admin));
        Assert.Equal(HttpStatusCode.Unauthorized, (await admin.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/auth/me").WithBearer(access))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await admin.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh })).StatusCode);
        // Put it back for the other tests of this class.
        Assert.Equal(0, (await RunMigrateAsync(_adminEmail, AdminPassword)).ExitCode);
    }

    [Fact]
    public async Task MigrateDoesNotMakeAnExistingAccountAdminWithoutTheExplicitSetting()
    {
        using var user = _factory.CreateHttpsClient();
        var email = await user.RegisterAndLoginAsync();

        var result = await RunMigrateAsync(email, AdminPassword);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("ADMIN_EMAIL names an existing account that is not an admin; migrate promotes it only with ADMIN_PROMOTE_EXISTING=true",
            Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.Equal("user", await _factory.Stack.ScalarAsync<string>(_factory.Database, $"SELECT role FROM users WHERE email = '{email}'"));
        // Nothing changed: the password and the session are the user's own still.
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync("/api/auth/me")).StatusCode);
        using var again = _factory.CreateHttpsClient();
        await again.LoginAsync(email);
    }

    [Theory]
    [InlineData("environment")]
    [InlineData("argument")]
    public async Task MigrateWithTheExplicitSettingPromotesAnExistingAccountAndEndsItsSessionsAndTokens(string how)
    {
        using var user = _factory.CreateHttpsClient();
        var email = await user.RegisterAndLoginAsync();
        var (access, refresh) = await user.TokenAsync(email);

        var result = how == "environment"
            ? await RunMigrateAsync(email, "the promoted admin's passphrase", new Dictionary<string, string?> { ["ADMIN_PROMOTE_EXISTING"] = "true" })
            : await RunMigrateAsync(email, "the promoted admin's passphrase", null, "--ADMIN_PROMOTE_EXISTING=true");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("promoted", result.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, await SessionStatusOnceEndedAsync(user));
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/auth/me").WithBearer(access))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh })).StatusCode);
        using var admin = _factory.CreateHttpsClient();
        await admin.LoginAsync(email, "the promoted admin's passphrase");
        Assert.Equal("admin", (await (await admin.GetAsync("/api/auth/me")).JsonAsync()).RootElement.GetProperty("role").GetString());
        Assert.Equal(1L, await _factory.Stack.ScalarAsync<long>(_factory.Database,
            $"SELECT count(*) FROM audit_log WHERE event = 'admin.first-admin-promoted' AND detail->>'email' = '{email}'"));
    }

    [Fact]
    public async Task MigrateRefusesAnAdminHashThatIsNotAHash()
    {
        var environment = BackendProcess.Environment(_factory.Stack, _factory.Database, _factory.Secrets);
        var file = Path.Combine(TestPaths.NewDirectory("admin"), "admin_password_hash");
        await File.WriteAllTextAsync(file, "plain-text-password-is-not-a-hash-at-all");
        environment["ADMIN_EMAIL"] = _adminEmail;
        environment["ADMIN_PASSWORD_HASH_FILE"] = file;

        var result = await BackendProcess.RunAsync(environment, null, "migrate");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("Secret 'admin_password_hash' is not a password hash", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.DoesNotContain("plain-text-password", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOrdinaryUserGets403FromTheAdminArea()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();

        await (await client.GetAsync("/api/admin/users")).AssertProblemAsync(HttpStatusCode.Forbidden, "urn:quartet:problem:forbidden");
    }

    [Fact]
    public async Task AnAdminsBearerTokenOpensTheAdminAreaAndAUsersGets403()
    {
        using var client = _factory.CreateHttpsClient();
        var (adminAccess, _) = await client.TokenAsync(_adminEmail, AdminPassword);
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        var (userAccess, _) = await client.TokenAsync(email);

        using var asAdmin = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/admin/users").WithBearer(adminAccess));
        using var asUser = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/admin/users").WithBearer(userAccess));

        Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
        var problem = await asUser.AssertProblemAsync(HttpStatusCode.Forbidden, "urn:quartet:problem:forbidden");
        Assert.Equal("Your account may not do this.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AnAdminSearchesUsersAPageAtATime()
    {
        using var admin = await AdminAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 5; i++)
        {
            await _factory.CreateHttpsClient().RegisterAsync($"{tag}-{i}@example.com");
        }

        using var page1 = await admin.GetAsync($"/api/admin/users?q={tag.ToUpperInvariant()}&page=1&pageSize=2");
        using var page3 = await admin.GetAsync($"/api/admin/users?q={tag}&page=3&pageSize=2");
        using var none = await admin.GetAsync("/api/admin/users?q=%25_nobody");

        var first = (await page1.JsonAsync()).RootElement;
        Assert.Equal(5, first.GetProperty("total").GetInt64());
        Assert.Equal([$"{tag}-0@example.com", $"{tag}-1@example.com"], first.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("email").GetString()));
        Assert.Single((await page3.JsonAsync()).RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal(0, (await none.JsonAsync()).RootElement.GetProperty("total").GetInt64()); // % and _ are literal
        await (await admin.GetAsync("/api/admin/users?pageSize=1000")).AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
    }

    [Fact]
    public async Task DisablingAUserEndsTheirCookieAndBearerAccessAtOnceAndEnablingLetsThemBackIn()
    {
        using var admin = await AdminAsync();
        using var user = _factory.CreateHttpsClient();
        var email = await user.RegisterAndLoginAsync();
        var (access, refresh) = await user.TokenAsync(email);
        var id = await IdOfAsync(user);

        using var disabled = await admin.PostAsync($"/api/admin/users/{id}/disable", null);

        Assert.Equal(HttpStatusCode.NoContent, disabled.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.GetAsync("/api/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/auth/me").WithBearer(access))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh })).StatusCode);
        await (await user.PostAsJsonAsync("/api/auth/login", new { email, password = ApiClient.StrongPassword }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-credentials");

        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/api/admin/users/{id}/enable", null)).StatusCode);
        await user.LoginAsync(email);
        Assert.Equal(2L, await _factory.Stack.ScalarAsync<long>(_factory.Database,
            $"SELECT count(*) FROM audit_log WHERE user_id = '{id}' AND event IN ('admin.user-disabled', 'admin.user-enabled')"));
    }

    [Fact]
    public async Task AnAdminEndsAUsersSessionsAndTokens()
    {
        using var admin = await AdminAsync();
        using var user = _factory.CreateHttpsClient();
        var email = await user.RegisterAndLoginAsync();
        var (access, refresh) = await user.TokenAsync(email);
        var id = await IdOfAsync(user);

        using var response = await admin.PostAsync($"/api/admin/users/{id}/end-sessions", null);

        Assert.Equal(1, (await response.JsonAsync()).RootElement.GetProperty("ended").GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.GetAsync("/api/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/auth/me").WithBearer(access))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh })).StatusCode);
        await user.LoginAsync(email); // not disabled: they can sign in again
    }

    [Fact]
    public async Task AnAdminCannotDisableThemselvesAndUnknownUsersAre404()
    {
        using var admin = await AdminAsync();

        await (await admin.PostAsync($"/api/admin/users/{await IdOfAsync(admin)}/disable", null)).AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:conflict");
        await (await admin.PostAsync($"/api/admin/users/{Guid.NewGuid()}/disable", null)).AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");
    }
}
