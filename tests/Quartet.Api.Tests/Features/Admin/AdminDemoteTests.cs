using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.Admin;

/// <summary>POST /api/admin/users/{id}/demote: ends the account's sessions and tokens, is audited, and never leaves no enabled admin.</summary>
public sealed class AdminDemoteTests(SharedStack shared) : IAsyncLifetime
{
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync() => _factory = await QuartetFactory.CreateAsync(shared.Stack);

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    /// <summary>An admin signed in with the cookie; this database has no admin but the ones a test makes.</summary>
    private async Task<(Guid Id, string Email, HttpClient Client)> NewAdminAsync()
    {
        var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail("admin");
        await client.RegisterAsync(email);
        await _factory.Stack.ExecuteAsync(_factory.Database, $"UPDATE users SET role = 'admin' WHERE email = '{email}'");
        await client.LoginAsync(email);
        var id = (await (await client.GetAsync("/api/auth/me")).JsonAsync()).RootElement.GetProperty("id").GetGuid();
        return (id, email, client);
    }

    private Task<long> AdminsAsync(params Guid[] among) => _factory.Stack.ScalarAsync<long>(_factory.Database,
        $"SELECT count(*) FROM users WHERE role = 'admin' AND id IN ({string.Join(", ", among.Select(id => $"'{id}'"))})");

    [Fact]
    public async Task DemotingAnAdminEndsTheirSessionsAndTokensAndIsAudited()
    {
        var (_, _, actor) = await NewAdminAsync();
        var (targetId, targetEmail, target) = await NewAdminAsync();
        var (access, refresh) = await target.TokenAsync(targetEmail);
        using (var asAdmin = await target.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/admin/users").WithBearer(access)))
        {
            Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
        }

        using var demoted = await actor.PostAsync($"/api/admin/users/{targetId}/demote", null);

        Assert.Equal(HttpStatusCode.NoContent, demoted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await target.GetAsync("/api/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await target.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/admin/users").WithBearer(access))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await target.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh })).StatusCode);
        // They sign in again as an ordinary user.
        await target.LoginAsync(targetEmail);
        Assert.Equal("user", (await (await target.GetAsync("/api/auth/me")).JsonAsync()).RootElement.GetProperty("role").GetString());
        await (await target.GetAsync("/api/admin/users")).AssertProblemAsync(HttpStatusCode.Forbidden, "urn:quartet:problem:forbidden");
        Assert.Equal(1L, await _factory.Stack.ScalarAsync<long>(_factory.Database,
            $"SELECT count(*) FROM audit_log WHERE event = 'admin.user-demoted' AND user_id = '{targetId}' AND actor_id IS NOT NULL"));
        actor.Dispose();
        target.Dispose();
    }

    [Fact]
    public async Task TheLastEnabledAdminCannotBeDemotedAndOthersAre409Or404()
    {
        await _factory.Stack.ExecuteAsync(_factory.Database, "UPDATE users SET disabled_at = now() WHERE role = 'admin'");
        var (id, _, admin) = await NewAdminAsync();
        using var user = _factory.CreateHttpsClient();
        await user.RegisterAndLoginAsync();
        var userId = (await (await user.GetAsync("/api/auth/me")).JsonAsync()).RootElement.GetProperty("id").GetGuid();

        var last = await (await admin.PostAsync($"/api/admin/users/{id}/demote", null)).AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:conflict");
        Assert.Contains("last enabled admin", last.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await (await admin.PostAsync($"/api/admin/users/{userId}/demote", null)).AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:conflict");
        await (await admin.PostAsync($"/api/admin/users/{Guid.NewGuid()}/demote", null)).AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");
        await (await user.PostAsync($"/api/admin/users/{id}/demote", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "urn:quartet:problem:forbidden");
        Assert.Equal(1L, await AdminsAsync(id));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/auth/me")).StatusCode);
        admin.Dispose();
    }

    [Fact]
    public async Task TwoAdminsDemotingEachOtherAtOnceLeaveExactlyOneAdmin()
    {
        for (var i = 0; i < 25; i++)
        {
            // Only these two are enabled admins: every earlier pair's survivor is disabled first.
            await _factory.Stack.ExecuteAsync(_factory.Database, "UPDATE users SET disabled_at = now() WHERE role = 'admin'");
            var (a, _, first) = await NewAdminAsync();
            var (b, _, second) = await NewAdminAsync();
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var demoteB = Task.Run(async () => { await gate.Task; return (await first.PostAsync($"/api/admin/users/{b}/demote", null)).StatusCode; });
            var demoteA = Task.Run(async () => { await gate.Task; return (await second.PostAsync($"/api/admin/users/{a}/demote", null)).StatusCode; });
            gate.SetResult();

            HttpStatusCode[] answers = [await demoteB, await demoteA];

            Assert.Equal(1L, await AdminsAsync(a, b));
            Assert.Contains(HttpStatusCode.NoContent, answers);
            Assert.All(answers, status => Assert.True(status is HttpStatusCode.NoContent or HttpStatusCode.Conflict or HttpStatusCode.Unauthorized, status.ToString()));
            first.Dispose();
            second.Dispose();
        }
    }
}
