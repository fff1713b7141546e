using System.Diagnostics.Metrics;

namespace Quartet.Api.Infrastructure.Observability;

/// <summary>
/// Quartet's own instruments, on the one <c>Quartet</c> meter. With metrics off nothing listens and
/// each call is a branch; with them on, a counter costs a few nanoseconds and allocates nothing (tags
/// travel as <see cref="KeyValuePair{TKey, TValue}"/> arguments, never as arrays). The names become
/// Prometheus series as docs/operations.md lists them (<c>quartet.logins</c> is
/// <c>quartet_logins_total</c>).
/// </summary>
internal static class QuartetMetrics
{
    public const string MeterName = "Quartet";

    internal static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Logins = Meter.CreateCounter<long>("quartet.logins",
        description: "Login and token attempts, by outcome.");

    private static readonly Counter<long> Throttled = Meter.CreateCounter<long>("quartet.requests.throttled",
        description: "Requests refused by a backend throttle, by limit.");

    private static readonly Counter<long> SessionsCreated = Meter.CreateCounter<long>("quartet.sessions.created",
        description: "Browser sessions created (logins).");

    private static readonly Counter<long> SessionsEnded = Meter.CreateCounter<long>("quartet.sessions.ended",
        description: "Browser sessions ended on purpose: logout, ended by their user or an admin, replaced at login. Sessions that time out are not counted.");

    private static readonly Counter<long> CacheHits = Meter.CreateCounter<long>("quartet.cache.hits",
        description: "Read-cache lookups answered from Redis, by cache.");

    private static readonly Counter<long> CacheMisses = Meter.CreateCounter<long>("quartet.cache.misses",
        description: "Read-cache lookups that went to PostgreSQL (not cached, or Redis unavailable), by cache.");

    private static readonly Counter<long> IdempotentReplays = Meter.CreateCounter<long>("quartet.idempotency.replays",
        description: "Requests answered with the stored response of an earlier request with the same Idempotency-Key.");

    private static readonly Counter<long> RedisFailures = Meter.CreateCounter<long>("quartet.redis.failures",
        description: "Redis calls that failed because Redis could not be reached or could not serve.");

    private static readonly Histogram<double> RedisDuration = Meter.CreateHistogram("quartet.redis.duration", "s",
        "Duration of Redis calls, failed ones included.", advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        });

    public static void Login(string outcome) => Logins.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public static void ThrottledRequest(string limit) => Throttled.Add(1, new KeyValuePair<string, object?>("limit", limit));

    public static void SessionCreated() => SessionsCreated.Add(1);

    public static void SessionsEndedOnPurpose(int count)
    {
        if (count > 0)
        {
            SessionsEnded.Add(count);
        }
    }

    public static void CacheLookup(string cache, bool hit) =>
        (hit ? CacheHits : CacheMisses).Add(1, new KeyValuePair<string, object?>("cache", cache));

    public static void IdempotentReplay() => IdempotentReplays.Add(1);

    public static void RedisCall(long startedTimestamp, bool failed)
    {
        if (failed)
        {
            RedisFailures.Add(1);
        }
        if (RedisDuration.Enabled)
        {
            RedisDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds);
        }
    }

    /// <summary>The values of the <c>outcome</c> tag of <c>quartet.logins</c>.</summary>
    public static class LoginOutcome
    {
        public const string Succeeded = "succeeded";
        public const string WrongPassword = "wrong_password";
        public const string UnknownEmail = "unknown_email";
        public const string Disabled = "disabled";
        public const string Throttled = "throttled";
        public const string Invalid = "invalid";
    }
}
