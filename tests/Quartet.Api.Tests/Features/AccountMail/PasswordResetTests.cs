using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.AccountMail;

public sealed class PasswordResetTests(SharedStack shared) : ApiTest(shared, signIn: false)
{
    private readonly TestStack _stack = shared.Stack;

    [Fact]
    public async Task AResetLinkByMailSetsTheNewPasswordAndEndsEverySessionAndToken()
    {
        var email = ApiClient.NewEmail();
        using var browser = Factory.CreateHttpsClient();
        await browser.RegisterAsync(email);
        await browser.LoginAsync(email);
        var (_, refresh) = await Client.TokenAsync(email);

        using var anonymous = Factory.CreateHttpsClient();
        using var accepted = await anonymous.RequestResetAsync(email);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var mail = await _stack.Mail.WaitForAsync(email, subject: AccountMailClient.ResetSubject);
        Assert.Equal("no-reply@quartet.test", Assert.Single(mail.From.Mailboxes).Address);
        Assert.Contains("https://localhost/reset-password#token=", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("30 minutes", mail.TextBody, StringComparison.Ordinal);
        var token = SmtpSink.TokenIn(mail);
        Assert.Contains(token, mail.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("<a href=\"https://localhost/reset-password#token=", mail.HtmlBody, StringComparison.Ordinal);

        using var reset = await anonymous.ConfirmResetAsync(token);

        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        using var me = await browser.GetAsync("/api/auth/me");
        await me.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
        using var refreshed = await anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        await refreshed.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-token");
        using var oldPassword = await anonymous.LoginResponseAsync(email, ApiClient.StrongPassword);
        await oldPassword.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-credentials");
        await anonymous.LoginAsync(email, AccountMailClient.NewPassword);
        Assert.Equal(1, await AccountMailClient.CountAsync(Factory,
            $"SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.user_id WHERE u.email = '{email}' AND a.event = 'password.reset'"));
        // The database holds the token's SHA-256, now spent.
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Buffers.Text.Base64Url.DecodeFromChars(token)));
        Assert.Equal(1, await AccountMailClient.CountAsync(Factory,
            $"SELECT count(*) FROM account_tokens WHERE token_hash = decode('{hash}', 'hex') AND used_at IS NOT NULL"));
    }

    [Fact]
    public async Task AnUnknownAddressGetsTheSameAnswerAndTheSameWorkButNoMail()
    {
        var known = ApiClient.NewEmail();
        var unknown = ApiClient.NewEmail("nobody");
        await Client.RegisterAsync(known);

        using var forKnown = await Client.RequestResetAsync(known);
        using var forUnknown = await Client.RequestResetAsync(unknown);

        Assert.Equal(HttpStatusCode.Accepted, forKnown.StatusCode);
        Assert.Equal(forKnown.StatusCode, forUnknown.StatusCode);
        Assert.Equal(await forKnown.Content.ReadAsStringAsync(), await forUnknown.Content.ReadAsStringAsync());
        Assert.Equal(forKnown.Content.Headers.ContentType, forUnknown.Content.Headers.ContentType);
        Assert.Equal(forKnown.Headers.Select(h => h.Key).Order(), forUnknown.Headers.Select(h => h.Key).Order());
        // Both requests queued one row; only the worker, later, tells them apart.
        Assert.All(await AccountMailClient.SettledOutboxAsync(Factory, known, count: 2), row => Assert.Equal("sent", row.Status));
        Assert.Equal(("skipped", "no account has this address"), Assert.Single(await AccountMailClient.SettledOutboxAsync(Factory, unknown)));
        Assert.Empty(_stack.Mail.To(unknown));
    }

    [Fact]
    public async Task ALinkWorksOnceAndOfTwoConcurrentUsesExactlyOneSucceeds()
    {
        var email = ApiClient.NewEmail();
        await Client.RegisterAsync(email);
        var token = await Client.ResetTokenAsync(_stack, email);

        var answers = await Task.WhenAll(Enumerable.Range(0, 2).Select(i =>
            Factory.CreateHttpsClient().ConfirmResetAsync(token, $"{AccountMailClient.NewPassword} {i}")));

        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.NoContent);
        await answers.Single(a => a.StatusCode != HttpStatusCode.NoContent)
            .AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:invalid-link");
        var winner = Array.FindIndex(answers, a => a.StatusCode == HttpStatusCode.NoContent);
        await Client.LoginAsync(email, $"{AccountMailClient.NewPassword} {winner}");
        using var again = await Client.ConfirmResetAsync(token, "yet another passphrase");
        await again.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:invalid-link");
        await Client.LoginAsync(email, $"{AccountMailClient.NewPassword} {winner}");
    }

    [Fact]
    public async Task AnExpiredLinkIsRefusedAndChangesNothing()
    {
        var email = ApiClient.NewEmail();
        await Client.RegisterAsync(email);
        var token = await Client.ResetTokenAsync(_stack, email);
        await AccountMailClient.ExecuteAsync(Factory, "UPDATE account_tokens SET expires_at = now() - interval '1 second'");

        using var reset = await Client.ConfirmResetAsync(token);

        var problem = await reset.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:invalid-link");
        Assert.Contains("expired", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await Client.LoginAsync(email);
    }

    [Fact]
    public async Task ForgedMalformedAndVerificationTokensAreRefusedAndChangeNothing()
    {
        var email = ApiClient.NewEmail();
        await Client.RegisterAsync(email);
        var verification = SmtpSink.TokenIn(await _stack.Mail.WaitForAsync(email));
        var token = await Client.ResetTokenAsync(_stack, email);
        var forged = token[..^2] + (token[^2] == 'A' ? "BA" : "AA");

        foreach (var wrong in new[] { forged, verification, Base64Url(new byte[32]) })
        {
            using var refused = await Client.ConfirmResetAsync(wrong);
            await refused.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:invalid-link");
        }
        foreach (var malformed in new[] { "", "abc", token + "A", token.Replace(token[5], '!'), new string('A', 100_000) })
        {
            using var refused = await Client.ConfirmResetAsync(malformed);
            var problem = await refused.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
            Assert.True(problem.GetProperty("errors").TryGetProperty("token", out _), malformed[..Math.Min(10, malformed.Length)]);
        }
        using var weak = await Client.ConfirmResetAsync(token, "short");
        var weakProblem = await weak.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
        Assert.True(weakProblem.GetProperty("errors").TryGetProperty("newPassword", out _));
        using var wrongType = await Client.PostAsync("/api/auth/password-reset/confirm",
            new StringContent("""{"token": 12, "newPassword": true}""", System.Text.Encoding.UTF8, "application/json"));
        await wrongType.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:bad-request");

        // None of that spent the real link or changed the password.
        await Client.LoginAsync(email);
        using var reset = await Factory.CreateHttpsClient().ConfirmResetAsync(token);
        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
    }

    [Fact]
    public async Task AnotherAccountsLinkIsRefusedWhileSignedInAndStaysUsable()
    {
        var victim = ApiClient.NewEmail("victim");
        await Client.RegisterAsync(victim);
        var token = await Client.ResetTokenAsync(_stack, victim);
        using var other = Factory.CreateHttpsClient();
        await other.RegisterAndLoginAsync();

        using var refused = await other.ConfirmResetAsync(token);

        await refused.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:invalid-link");
        await Client.LoginAsync(victim);
        using var reset = await Factory.CreateHttpsClient().ConfirmResetAsync(token);
        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
    }

    [Fact]
    public async Task AHugeOrMalformedAddressIs400AndQueuesNothing()
    {
        foreach (var email in new[] { new string('a', 250) + "@example.com", "not-an-address", "two@at@example.com", "nul\0@example.com", "" })
        {
            using var response = await Client.RequestResetAsync(email);
            var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
            Assert.True(problem.GetProperty("errors").TryGetProperty("email", out _));
        }
        using var huge = await Client.RequestResetAsync(new string('a', 2_000_000) + "@example.com");
        await huge.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "urn:quartet:problem:payload-too-large");
        Assert.Equal(0, await AccountMailClient.CountAsync(Factory, "SELECT count(*) FROM mail_outbox"));
    }

    [Fact]
    public async Task RequestsAreThrottledPerAddressWithRetryAfter()
    {
        var email = ApiClient.NewEmail();
        for (var i = 0; i < 3; i++)
        {
            using var accepted = await Client.RequestResetAsync(email);
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        using var throttled = await Client.RequestResetAsync(email.ToUpperInvariant());

        await throttled.AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
        Assert.InRange(int.Parse(throttled.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 3000, 3600);
        using var otherAddress = await Client.RequestResetAsync(ApiClient.NewEmail());
        Assert.Equal(HttpStatusCode.Accepted, otherAddress.StatusCode);
        Assert.Equal(4, await AccountMailClient.CountAsync(Factory, "SELECT count(*) FROM mail_outbox"));
    }

    [Fact]
    public async Task AnAccountGetsAtMostThreeResetMailsAnHour()
    {
        var email = ApiClient.NewEmail();
        await Client.RegisterAsync(email);
        await AccountMailClient.ExecuteAsync(Factory, $"""
            INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at)
            SELECT sha256(convert_to(g::text || id::text, 'UTF8')), id, 'reset-password', email, now() + interval '30 minutes'
            FROM users, generate_series(1, 3) g WHERE email = '{email}'
            """);

        using var accepted = await Client.RequestResetAsync(email);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var rows = await AccountMailClient.SettledOutboxAsync(Factory, email, count: 2);
        Assert.Equal("skipped", rows[^1].Status);
        Assert.Contains("3 reset links in the last hour", rows[^1].Error, StringComparison.Ordinal);
        Assert.Single(_stack.Mail.To(email)); // the verification mail only
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
