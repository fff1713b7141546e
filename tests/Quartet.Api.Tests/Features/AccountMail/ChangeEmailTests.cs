using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.AccountMail;

public sealed class ChangeEmailTests(SharedStack shared) : ApiTest(shared, signIn: false)
{
    private readonly TestStack _stack = shared.Stack;

    private Task<HttpResponseMessage> ChangeAsync(HttpClient client, string? email, string? currentPassword = ApiClient.StrongPassword) =>
        client.PutAsJsonAsync("/api/account/email", new { email, currentPassword });

    [Fact]
    public async Task ANewAddressStartsUnverifiedEndsEverySessionAndTellsTheOldAddress()
    {
        var old = await Client.RegisterAndLoginAsync();
        using (var verified = await Client.VerifyEmailAsync(SmtpSink.TokenIn(await _stack.Mail.WaitForAsync(old))))
        {
            Assert.Equal(HttpStatusCode.NoContent, verified.StatusCode);
        }
        var resetForOld = await Factory.CreateHttpsClient().ResetTokenAsync(_stack, old);
        var (_, refresh) = await Factory.CreateHttpsClient().TokenAsync(old);
        var fresh = ApiClient.NewEmail("moved");

        using var changed = await ChangeAsync(Client, $"  {fresh.ToUpperInvariant()} ");

        Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
        using var me = await Client.GetAsync("/api/auth/me");
        await me.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
        using var refreshed = await Factory.CreateHttpsClient().PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        await refreshed.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-token");
        using var oldLogin = await Factory.CreateHttpsClient().LoginResponseAsync(old, ApiClient.StrongPassword);
        await oldLogin.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-credentials");
        using var newLogin = Factory.CreateHttpsClient();
        await newLogin.LoginAsync(fresh);
        using (var status = await newLogin.GetAsync("/api/account/email"))
        using (var body = await status.JsonAsync())
        {
            Assert.Equal(fresh, body.RootElement.GetProperty("email").GetString());
            Assert.False(body.RootElement.GetProperty("verified").GetBoolean());
        }
        var notice = await _stack.Mail.WaitForAsync(old, subject: "The address of your Quartet account was changed");
        Assert.Contains(fresh, notice.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("#token=", notice.TextBody, StringComparison.Ordinal);
        // A reset link sent to the old address no longer works; the new address's verification link does.
        using var staleReset = await Factory.CreateHttpsClient().ConfirmResetAsync(resetForOld);
        await staleReset.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:invalid-link");
        using var verify = await newLogin.VerifyEmailAsync(SmtpSink.TokenIn(await _stack.Mail.WaitForAsync(fresh, subject: AccountMailClient.VerifySubject)));
        Assert.Equal(HttpStatusCode.NoContent, verify.StatusCode);
        Assert.Equal(1, await AccountMailClient.CountAsync(Factory,
            $"SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.user_id WHERE u.email = '{fresh}' AND a.event = 'email.changed' AND a.detail->>'from' = '{old}'"));
    }

    [Fact]
    public async Task AWrongPasswordATakenOrMalformedAddressIsRefusedAndChangesNothing()
    {
        var email = await Client.RegisterAndLoginAsync();
        var taken = ApiClient.NewEmail("taken");
        await Factory.CreateHttpsClient().RegisterAsync(taken);

        using var wrongPassword = await ChangeAsync(Client, ApiClient.NewEmail(), "not the password at all");
        var problem = await wrongPassword.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty("currentPassword", out _));
        foreach (var bad in new[] { "", "no-at-sign", new string('a', 300) + "@example.com", email })
        {
            using var refused = await ChangeAsync(Client, bad);
            var body = await refused.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
            Assert.True(body.GetProperty("errors").TryGetProperty("email", out _), bad);
        }
        using var conflict = await ChangeAsync(Client, taken);
        await conflict.AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:conflict");
        using var noCsrf = Factory.CreateHttpsClient();
        await noCsrf.LoginAsync(email);
        noCsrf.DefaultRequestHeaders.Remove("X-CSRF-Token");
        using var forged = await ChangeAsync(noCsrf, ApiClient.NewEmail());
        await forged.AssertProblemAsync(HttpStatusCode.Forbidden, "urn:quartet:problem:csrf");

        using var me = await Client.GetAsync("/api/auth/me");
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Equal(email, (await me.JsonAsync()).RootElement.GetProperty("email").GetString());
        Assert.Equal(0, await AccountMailClient.CountAsync(Factory, "SELECT count(*) FROM audit_log WHERE event = 'email.changed'"));
    }
}
