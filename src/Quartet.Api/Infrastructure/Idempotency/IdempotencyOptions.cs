namespace Quartet.Api.Infrastructure.Idempotency;

internal sealed class IdempotencyOptions
{
    public const string Section = "Idempotency";

    /// <summary>How long a completed request is kept for replay under its key; past it, the key is new again.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often each replica deletes records older than <see cref="Retention"/>.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);

    public static bool IsValid(IdempotencyOptions o) =>
        o.Retention >= TimeSpan.FromMinutes(1) && o.Retention <= TimeSpan.FromDays(30)
        && o.SweepInterval > TimeSpan.Zero && o.SweepInterval <= TimeSpan.FromDays(1);

    public const string InvalidMessage =
        "Idempotency: Retention must be 1 minute to 30 days, SweepInterval positive and at most 1 day";
}
