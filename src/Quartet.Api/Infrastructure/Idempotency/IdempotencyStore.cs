using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Quartet.Api.Infrastructure.Http;
using Quartet.Api.Infrastructure.Observability;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Infrastructure.Idempotency;

internal enum IdempotencyState
{
    /// <summary>First time this key is seen: the caller does the work, then calls Complete (or Abandon).</summary>
    Started,
    /// <summary>Same key, same request, already done: replay <see cref="IdempotencyClaim.Response"/>.</summary>
    Replay,
    /// <summary>Same key, another request: 422.</summary>
    Mismatch,
    /// <summary>Same key, same request, still running elsewhere: 409, retry shortly.</summary>
    InProgress,
}

internal sealed record IdempotencyClaim(IdempotencyState State, StoredResponse? Response);

/// <summary>
/// Idempotency-Key for unsafe requests, kept 24 hours in Redis per user and key. A claim is taken
/// atomically (SET NX), so two retries racing each other run the work once. The request is compared by
/// a SHA-256 of its canonical form, so a retry must send the same request to get the first response.
/// </summary>
internal sealed class IdempotencyStore(IRedisStore redis)
{
    public const string HeaderName = "Idempotency-Key";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a claim whose work never completed (the process died) blocks its key. Past it, a retry runs
    /// the work again; a create that had committed before the crash is then made twice.
    /// </summary>
    public static readonly TimeSpan PendingLifetime = TimeSpan.FromMinutes(1);

    // KEYS[1]; ARGV: pending marker, ttl ms. Returns {'new'} or {'seen', value}.
    private const string ClaimScript = """
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'new'} end
        return {'seen', redis.call('GET', KEYS[1])}
        """;

    public static bool IsValidKey(string key) => key.Length is > 0 and <= 255 && key.All(c => c is >= '!' and <= '~');

    public static string Fingerprint(string canonicalRequest) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)));

    public async Task<IdempotencyClaim> ClaimAsync(string scope, string key, string fingerprint)
    {
        var reply = await redis.EvaluateAsync(ClaimScript, [Key(scope, key)],
            [JsonSerializer.Serialize(new Entry(fingerprint, null), IdempotencyJsonContext.Default.Entry),
             ((long)PendingLifetime.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)]);
        if (reply[0] == "new")
        {
            return new(IdempotencyState.Started, null);
        }
        var entry = reply.Count > 1 && reply[1] is { } json ? JsonSerializer.Deserialize(json, IdempotencyJsonContext.Default.Entry) : null;
        if (entry is null)
        {
            // Expired between the two commands of the script cannot happen (it is atomic); a foreign value can.
            return new(IdempotencyState.Mismatch, null);
        }
        if (entry.Fingerprint != fingerprint)
        {
            return new(IdempotencyState.Mismatch, null);
        }
        if (entry.Response is null)
        {
            return new(IdempotencyState.InProgress, null);
        }
        QuartetMetrics.IdempotentReplay();
        return new(IdempotencyState.Replay, entry.Response);
    }

    public Task CompleteAsync(string scope, string key, string fingerprint, StoredResponse response) =>
        redis.SetAsync(Key(scope, key), JsonSerializer.Serialize(new Entry(fingerprint, response), IdempotencyJsonContext.Default.Entry), Lifetime);

    /// <summary>The work failed: forget the claim so a retry can run it.</summary>
    public Task AbandonAsync(string scope, string key) => redis.DeleteAsync(Key(scope, key));

    private static string Key(string scope, string key) => $"idempotency:{scope}:{Fingerprint(key)}";

    internal sealed record Entry(string Fingerprint, StoredResponse? Response);
}

[JsonSerializable(typeof(IdempotencyStore.Entry))]
internal sealed partial class IdempotencyJsonContext : JsonSerializerContext;
