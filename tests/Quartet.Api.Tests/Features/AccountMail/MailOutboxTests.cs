using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.AccountMail;

public sealed class MailOutboxTests(SharedStack shared) : ApiTest(shared, signIn: false)
{
    private readonly TestStack _stack = shared.Stack;

    private async Task<HttpClient> AdminAsync()
    {
        var email = ApiClient.NewEmail("admin");
        var admin = Factory.CreateHttpsClient();
        await admin.RegisterAsync(email);
        await AccountMailClient.ExecuteAsync(Factory, $"UPDATE users SET role = 'admin' WHERE email = '{email}'");
        await admin.LoginAsync(email);
        return admin;
    }

    [Fact]
    public async Task AMailTheServerRefusesForGoodIsDeadAndTheAdminCanSeeAndRequeueIt()
    {
        var email = ApiClient.NewEmail("refused");
        await Client.RegisterAsync(email);
        var (status, error) = Assert.Single(await AccountMailClient.SettledOutboxAsync(Factory, email));
        Assert.Equal("dead", status);
        Assert.Contains("No such user", error, StringComparison.Ordinal);

        using var admin = await AdminAsync();
        using var list = await admin.GetAsync("/api/admin/mail/dead");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        using var body = await list.JsonAsync();
        var dead = Assert.Single(body.RootElement.EnumerateArray());
        Assert.Equal(email, dead.GetProperty("recipient").GetString());
        Assert.Equal("verify-email", dead.GetProperty("template").GetString());
        Assert.Equal(1, dead.GetProperty("attempts").GetInt32());
        var id = dead.GetProperty("id").GetInt64();

        using var requeued = await admin.PostAsync($"/api/admin/mail/{id}/retry", null);
        Assert.Equal(HttpStatusCode.NoContent, requeued.StatusCode);
        Assert.Equal("dead", Assert.Single(await AccountMailClient.SettledOutboxAsync(Factory, email)).Status);
        using var unknown = await admin.PostAsync($"/api/admin/mail/{id + 1000}/retry", null);
        await unknown.AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");
        using var user = Factory.CreateHttpsClient();
        await user.RegisterAndLoginAsync();
        using var forbidden = await user.GetAsync("/api/admin/mail/dead");
        await forbidden.AssertProblemAsync(HttpStatusCode.Forbidden, "urn:quartet:problem:forbidden");
    }

    [Fact]
    public async Task ATemporaryRefusalIsRetriedLaterWithTheErrorKept()
    {
        var email = ApiClient.NewEmail("busy");
        await Client.RegisterAsync(email);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await AccountMailClient.CountAsync(Factory, "SELECT count(*) FROM mail_outbox WHERE last_error IS NOT NULL") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the first attempt did not fail");
            await Task.Delay(50);
        }

        Assert.Equal(1, await AccountMailClient.CountAsync(Factory, """
            SELECT count(*) FROM mail_outbox
            WHERE status = 'pending' AND attempts = 1 AND last_error LIKE '%Try again later%'
              AND next_attempt_at BETWEEN now() + interval '20 seconds' AND now() + interval '31 seconds'
            """));
    }

    [Fact]
    public async Task AQueuedMailOutlivesTheProcessThatQueuedItAndIsSentByTheNext()
    {
        var email = ApiClient.NewEmail();
        // Two app instances on a database of their own, one after the other. The first cannot reach its
        // SMTP server, so the mail stays queued.
        await using var second = await QuartetFactory.CreateAsync(_stack);
        var down = Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using (var first = second.Replica(settings: new Dictionary<string, string?> { ["Mail:SmtpPort"] = down }))
        {
            using var client = first.CreateHttpsClient();
            await client.RegisterAsync(email);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (await AccountMailClient.CountAsync(second, "SELECT count(*) FROM mail_outbox WHERE last_error IS NOT NULL") == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the first attempt did not happen");
                await Task.Delay(50);
            }
        }
        Assert.Empty(_stack.Mail.To(email));
        Assert.Equal("pending", Assert.Single(await AccountMailClient.OutboxAsync(second, email)).Status);

        // The next process picks it up once it is due.
        await AccountMailClient.ExecuteAsync(second, "UPDATE mail_outbox SET next_attempt_at = now()");
        using var _ = second.CreateHttpsClient();

        var mail = await _stack.Mail.WaitForAsync(email);
        Assert.Equal("Confirm your email address for Quartet", mail.Subject);
    }

    [Fact]
    public async Task SendsAreLoggedWithoutTheirTokens()
    {
        var secrets = new TestSecrets(_stack);
        await using var backend = await RunningBackend.StartNewAsync(BackendProcess.Environment(_stack, await _stack.CreateDatabaseAsync(), secrets));
        using var client = new HttpClient { BaseAddress = backend.BaseAddress };
        var email = ApiClient.NewEmail();
        using (await client.PostAsJsonAsync("/api/auth/register", new { email, password = ApiClient.StrongPassword }))
        using (await client.PostAsJsonAsync("/api/auth/password-reset", new { email }))
        {
        }
        var verify = SmtpSink.TokenIn(await _stack.Mail.WaitForAsync(email, subject: AccountMailClient.VerifySubject));
        var reset = SmtpSink.TokenIn(await _stack.Mail.WaitForAsync(email, subject: AccountMailClient.ResetSubject));
        using (await client.PostAsJsonAsync("/api/auth/password-reset/confirm", new { token = reset, newPassword = AccountMailClient.NewPassword }))
        {
        }
        await backend.StopAsync(TestContext.Current.CancellationToken);

        var logs = backend.Output;
        Assert.Contains("mail verify-email #", logs, StringComparison.Ordinal);
        Assert.Contains("mail reset-password #", logs, StringComparison.Ordinal);
        Assert.Contains("audit password.reset", logs, StringComparison.Ordinal);
        foreach (var secret in new[] { verify, reset, AccountMailClient.NewPassword })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }
}
