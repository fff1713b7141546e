namespace Quartet.Api.Features.AccountMail;

internal sealed class AccountMailOptions
{
    public const string Section = "Accounts";

    /// <summary>How long a verification link works.</summary>
    public TimeSpan VerificationLinkLifetime { get; set; } = TimeSpan.FromHours(24);
    /// <summary>How long a password-reset link works: short, since whoever holds it owns the account.</summary>
    public TimeSpan ResetLinkLifetime { get; set; } = TimeSpan.FromMinutes(30);
    /// <summary>How long a new account may get API tokens before its address is verified.</summary>
    public TimeSpan UnverifiedGracePeriod { get; set; } = TimeSpan.FromDays(7);

    public static bool IsValid(AccountMailOptions o) =>
        o.VerificationLinkLifetime > TimeSpan.Zero && o.ResetLinkLifetime > TimeSpan.Zero
        && o.ResetLinkLifetime <= TimeSpan.FromHours(24) && o.UnverifiedGracePeriod >= TimeSpan.Zero;

    public const string InvalidMessage =
        "Accounts: VerificationLinkLifetime must be positive, ResetLinkLifetime positive and at most 24 hours, UnverifiedGracePeriod not negative";
}
