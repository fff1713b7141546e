using System.ComponentModel.DataAnnotations;

namespace Quartet.Api.Infrastructure.Auth;

internal sealed class SessionOptions
{
    public const string Section = "Sessions";

    /// <summary>A session unused this long ends (sliding).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);
    /// <summary>A session ends this long after login, however active.</summary>
    public TimeSpan AbsoluteTimeout { get; set; } = TimeSpan.FromHours(12);
}

internal sealed class TokenOptions
{
    public const string Section = "Tokens";

    [Required] public string Issuer { get; set; } = "quartet";
    [Required] public string Audience { get; set; } = "quartet-api";
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);
}

internal sealed class ThrottleOptions
{
    public const string Section = "Throttling";

    /// <summary>Failed logins allowed per account and client (an IPv4 address or IPv6 /64) within <see cref="Window"/>.</summary>
    [Range(1, 10_000)] public int FailuresPerAccountAndIp { get; set; } = 5;
    /// <summary>Failed logins allowed per client, whatever the account, within <see cref="Window"/>.</summary>
    [Range(1, 100_000)] public int FailuresPerIp { get; set; } = 50;
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(15);
    /// <summary>Failed logins allowed per account from all clients together within <see cref="AccountWindow"/>.</summary>
    [Range(1, 100_000)] public int FailuresPerAccount { get; set; } = 10;
    /// <summary>Short, so that a guesser spread over many addresses can lock the owner out for this long at most.</summary>
    public TimeSpan AccountWindow { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>Registrations allowed per client within <see cref="RegistrationWindow"/>.</summary>
    [Range(1, 100_000)] public int RegistrationsPerIp { get; set; } = 20;
    public TimeSpan RegistrationWindow { get; set; } = TimeSpan.FromHours(1);
}

internal sealed class ProxyOptions
{
    public const string Section = "Proxy";

    /// <summary>
    /// Networks whose X-Forwarded-For and X-Forwarded-Proto are believed (CIDR, comma-separated).
    /// A peer outside them is the client, whatever its headers say.
    /// </summary>
    [Required] public string TrustedNetworks { get; set; } = "127.0.0.1/32,::1/128";
}
