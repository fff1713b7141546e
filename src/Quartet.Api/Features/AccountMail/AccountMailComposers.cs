using System.Globalization;
using Microsoft.Extensions.Options;
using MimeKit;
using Npgsql;
using Quartet.Api.Features.Users;
using Quartet.Api.Infrastructure.Mail;

namespace Quartet.Api.Features.AccountMail;

/// <summary>
/// The verification mail. Sent only while the account still has that address and has not verified it;
/// the link's token is made here, so it exists nowhere but in the mail (and as a hash).
/// </summary>
internal sealed class VerifyEmailComposer(NpgsqlDataSource db, IOptions<MailOptions> mail, IOptions<AccountMailOptions> accounts) : IMailComposer
{
    public const string Name = "verify-email";
    /// <summary>Registration accepts addresses (one '@', no spaces) that are not valid for SMTP, such as "a,b@example.com".</summary>
    public const string Undeliverable = "the address is not one SMTP can deliver to";

    public string Template => Name;

    public async Task<ComposedMail> ComposeAsync(OutboxMail item, CancellationToken cancellationToken)
    {
        var user = item.UserId is { } id ? await UserAccounts.FindByIdAsync(db, id, cancellationToken) : null;
        if (user is null || user.Email != item.Recipient)
        {
            return ComposedMail.Skip("the account no longer has this address");
        }
        if (user.EmailVerifiedAt is not null)
        {
            return ComposedMail.Skip("already verified");
        }
        if (!MailboxAddress.TryParse(user.Email, out var to))
        {
            return ComposedMail.Skip(Undeliverable);
        }
        var lifetime = accounts.Value.VerificationLinkLifetime;
        var token = await AccountTokens.CreateAsync(db, user.Id, AccountTokens.VerifyEmail, user.Email, lifetime, cancellationToken);
        return ComposedMail.Send(MailTemplates.Render(Name, MailboxAddress.Parse(mail.Value.From), to,
            new Dictionary<string, string>
            {
                ["email"] = user.Email,
                ["link"] = Link(mail.Value, "verify-email", token),
                ["lifetime"] = Describe(lifetime),
            }));
    }

    /// <summary>The SPA page with the token after '#': a fragment never reaches a server, so no access log or Referer holds it.</summary>
    public static string Link(MailOptions mail, string page, string token) => new Uri(mail.LinkBase(), page) + "#token=" + token;

    public static string Describe(TimeSpan lifetime) => lifetime.TotalHours >= 1 && lifetime.TotalHours == Math.Floor(lifetime.TotalHours)
        ? $"{lifetime.TotalHours.ToString(CultureInfo.InvariantCulture)} hour{(lifetime.TotalHours == 1 ? "" : "s")}"
        : $"{Math.Ceiling(lifetime.TotalMinutes).ToString(CultureInfo.InvariantCulture)} minutes";
}

/// <summary>
/// The password-reset mail. The request that queued it said the same whether or not the address has an
/// account; here, an unknown address, a disabled account, or one past its limit of reset mails per hour
/// gets nothing (the outbox row says why).
/// </summary>
internal sealed class ResetPasswordComposer(NpgsqlDataSource db, IOptions<MailOptions> mail, IOptions<AccountMailOptions> accounts) : IMailComposer
{
    public const string Name = "reset-password";
    public const int MailsPerAccount = 3;

    public string Template => Name;

    public async Task<ComposedMail> ComposeAsync(OutboxMail item, CancellationToken cancellationToken)
    {
        var user = await UserAccounts.FindByEmailAsync(db, item.Recipient, cancellationToken);
        if (user is null)
        {
            return ComposedMail.Skip("no account has this address");
        }
        if (user.IsDisabled)
        {
            return ComposedMail.Skip("the account is disabled");
        }
        // Checked on the first attempt only, so retries of a failed send do not count against it.
        if (item.Attempts == 1
            && await AccountTokens.CountRecentAsync(db, user.Id, AccountTokens.ResetPassword, AccountMailThrottle.Window, cancellationToken) >= MailsPerAccount)
        {
            return ComposedMail.Skip($"the account was sent {MailsPerAccount} reset links in the last hour");
        }
        if (!MailboxAddress.TryParse(user.Email, out var to))
        {
            return ComposedMail.Skip(VerifyEmailComposer.Undeliverable);
        }
        var lifetime = accounts.Value.ResetLinkLifetime;
        var token = await AccountTokens.CreateAsync(db, user.Id, AccountTokens.ResetPassword, user.Email, lifetime, cancellationToken);
        return ComposedMail.Send(MailTemplates.Render(Name, MailboxAddress.Parse(mail.Value.From), to,
            new Dictionary<string, string>
            {
                ["email"] = user.Email,
                ["link"] = VerifyEmailComposer.Link(mail.Value, "reset-password", token),
                ["lifetime"] = VerifyEmailComposer.Describe(lifetime),
            }));
    }
}

/// <summary>Tells the old address that the account's address was changed, and to what. No link: it is only a warning.</summary>
internal sealed class EmailChangedComposer(NpgsqlDataSource db, IOptions<MailOptions> mail) : IMailComposer
{
    public const string Name = "email-changed";

    public string Template => Name;

    public async Task<ComposedMail> ComposeAsync(OutboxMail item, CancellationToken cancellationToken)
    {
        var user = item.UserId is { } id ? await UserAccounts.FindByIdAsync(db, id, cancellationToken) : null;
        if (user is null)
        {
            return ComposedMail.Skip("the account no longer exists");
        }
        if (!MailboxAddress.TryParse(item.Recipient, out var to))
        {
            return ComposedMail.Skip(VerifyEmailComposer.Undeliverable);
        }
        return ComposedMail.Send(MailTemplates.Render(Name, MailboxAddress.Parse(mail.Value.From), to,
            new Dictionary<string, string> { ["email"] = item.Recipient, ["newEmail"] = user.Email }));
    }
}
