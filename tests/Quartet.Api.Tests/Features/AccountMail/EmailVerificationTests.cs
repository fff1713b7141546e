using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.AccountMail;

public sealed class EmailVerificationTests(SharedStack shared) : ApiTest(shared, signIn: false)
{
    private readonly TestStack _stack = shared.Stack;

    private async Task<(bool Verified, string Email)> StatusAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/account/email");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = await response.JsonAsync();
        return (body.RootElement.GetProperty("verified").GetBoolean(), body.RootElement.GetProperty("email").GetString()!);
    }

    [Fact]
    public async Task ANewAccountIsSentALinkThatVerifiesItsAddressOnce()
    {
        var email = await Client.RegisterAndLoginAsync();
        Assert.Equal((false, email), await StatusAsync(Client));
        var mail = await _stack.Mail.WaitForAsync(email);
        Assert.Equal("Confirm your email address for Quartet", mail.Subject);
        Assert.Contains("https://localhost/verify-email#token=", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("24 hours", mail.TextBody, StringComparison.Ordinal);
        var token = SmtpSink.TokenIn(mail);

        // The link may be opened in another browser, signed in or not.
        using var verified = await Factory.CreateHttpsClient().VerifyEmailAsync(token);

        Assert.Equal(HttpStatusCode.NoContent, verified.StatusCode);
        Assert.Equal((true, email), await StatusAsync(Client));
        using var again = await Client.VerifyEmailAsync(token);
        await again.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:invalid-link");
        Assert.Equal(1, await AccountMailClient.CountAsync(Factory,
            $"SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.user_id WHERE u.email = '{email}' AND a.event = 'email.verified'"));
    }

    [Fact]
    public async Task ResendIsLimitedToThreeAnHourAndRefusedOnceVerified()
    {
        var email = await Client.RegisterAndLoginAsync();
        for (var i = 0; i < 3; i++)
        {
            using var accepted = await Client.PostAsync("/api/account/email/verification", null);
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }
        using var throttled = await Client.PostAsync("/api/account/email/verification", null);
        await throttled.AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
        Assert.True(throttled.Headers.Contains("Retry-After"));

        // Every one of the four mails carries its own working link; the last one verifies.
        var token = SmtpSink.TokenIn(await _stack.Mail.WaitForAsync(email, count: 4));
        using var verified = await Client.VerifyEmailAsync(token);
        Assert.Equal(HttpStatusCode.NoContent, verified.StatusCode);

        using var done = await Client.PostAsync("/api/account/email/verification", null);
        await done.AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:conflict");
        using var anonymous = await Factory.CreateHttpsClient().PostAsync("/api/account/email/verification", null);
        await anonymous.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
    }

    [Fact]
    public async Task ExpiredForgedAndOtherAccountsLinksAreRefusedAndVerifyNothing()
    {
        var email = ApiClient.NewEmail();
        await Client.RegisterAsync(email);
        var token = SmtpSink.TokenIn(await _stack.Mail.WaitForAsync(email));
        using var other = Factory.CreateHttpsClient();
        await other.RegisterAndLoginAsync();

        using var othersLink = await other.VerifyEmailAsync(token);
        await othersLink.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:invalid-link");
        // One character changed inside (the last one carries padding bits, which decoding checks).
        using var forged = await Client.VerifyEmailAsync(token[..5] + (token[5] == 'A' ? 'B' : 'A') + token[6..]);
        await forged.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:invalid-link");
        using var malformed = await Client.VerifyEmailAsync("../../etc/passwd");
        await malformed.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
        await AccountMailClient.ExecuteAsync(Factory, "UPDATE account_tokens SET expires_at = now() - interval '1 second'");
        using var expired = await Client.VerifyEmailAsync(token);
        await expired.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:invalid-link");

        Assert.Equal(0, await AccountMailClient.CountAsync(Factory, "SELECT count(*) FROM users WHERE email_verified_at IS NOT NULL"));
    }

    [Fact]
    public async Task AnUnverifiedAccountGetsApiTokensOnlyDuringItsGracePeriod()
    {
        var email = ApiClient.NewEmail();
        await Client.RegisterAsync(email);
        await Client.TokenAsync(email);
        await AccountMailClient.ExecuteAsync(Factory, $"UPDATE users SET created_at = now() - interval '7 days 1 minute' WHERE email = '{email}'");

        using var refused = await Client.PostAsJsonAsync("/api/auth/token", new { email, password = ApiClient.StrongPassword });

        await refused.AssertProblemAsync(HttpStatusCode.Forbidden, "urn:quartet:problem:email-unverified");
        await Client.LoginAsync(email); // the browser session still works
        using var verified = await Client.VerifyEmailAsync(SmtpSink.TokenIn(await _stack.Mail.WaitForAsync(email)));
        Assert.Equal(HttpStatusCode.NoContent, verified.StatusCode);
        await Client.TokenAsync(email);
    }

    [Fact]
    public async Task ResettingThePasswordByMailAlsoVerifiesTheAddress()
    {
        var email = ApiClient.NewEmail();
        await Client.RegisterAsync(email);
        var token = await Client.ResetTokenAsync(_stack, email);

        using var reset = await Client.ConfirmResetAsync(token);

        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        await Client.LoginAsync(email, AccountMailClient.NewPassword);
        Assert.True((await StatusAsync(Client)).Verified);
    }
}
