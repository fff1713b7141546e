using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Observability;
using Quartet.Api.Infrastructure.Redis;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>A session as its owner (or an admin) sees it. <see cref="Id"/> is the Redis key's hash, never the cookie.</summary>
internal sealed record SessionInfo(string Id, Guid UserId, string Email, string Role, DateTimeOffset CreatedAt,
    DateTimeOffset LastSeenAt, string? Ip, string? UserAgent);

/// <summary>
/// Server-side sessions in Redis. The cookie holds 128 random bits; Redis holds the session under
/// HMAC-SHA256(session_secret, cookie), so a Redis dump or a session list reveals no usable token.
/// Idle and absolute expiry are checked against <see cref="TimeProvider"/> inside one script that also
/// slides the expiry: an authenticated request costs one Redis round trip.
/// </summary>
internal sealed class SessionStore(IRedisStore redis, AuthEpochs epochs, AuthSecrets secrets, IOptions<SessionOptions> options, TimeProvider clock)
{
    // KEYS[3] is the per-user key prefix ("user:"), so the key it builds for the epoch carries the store's prefix too.
    private static readonly string CreateScript = """
        redis.call('HSET', KEYS[1], unpack(ARGV, 6))
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        redis.call('SADD', KEYS[2], ARGV[3])
        redis.call('PEXPIRE', KEYS[2], ARGV[2])

        """ + AuthEpochs.RaiseLua("KEYS[3] .. ARGV[4] .. ':epoch'", "ARGV[5]") + """

        return {'1'}
        """;

    // Returns the session's fields, or nil when it is missing, expired or issued under an epoch older than the
    // user's (then it is deleted), or {'load', uid} when Redis has no copy of the user's epoch: the caller reads
    // it from PostgreSQL and asks again. ARGV[3] '1' slides the expiry (the request is activity); '0' only looks.
    private const string TouchScript = """
        local s = redis.call('HMGET', KEYS[1], 'uid', 'email', 'role', 'created', 'seen', 'abs', 'ip', 'ua', 'ep')
        if not s[1] then return nil end
        local now = tonumber(ARGV[1])
        local abs = tonumber(s[6])
        if now - tonumber(s[5]) >= tonumber(ARGV[2]) or now >= abs then
          redis.call('DEL', KEYS[1])
          return nil
        end
        local current = redis.call('GET', KEYS[2] .. s[1] .. ':epoch')
        if not current then return {'load', s[1]} end
        -- A session made before epochs existed has none: it counts as epoch 0, like every account then.
        s[9] = s[9] or '0'
        if tonumber(s[9]) < tonumber(current) then
          redis.call('DEL', KEYS[1])
          redis.call('SREM', KEYS[2] .. s[1] .. ':sessions', ARGV[4])
          return nil
        end
        if ARGV[3] == '1' then
          redis.call('HSET', KEYS[1], 'seen', ARGV[1])
          redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[2]), abs - now))
        end
        return s
        """;

    // Moves a live session to the epoch its own request just raised the account to (ARGV[1]), only from the one
    // just before it: when another raise came in between (an admin's sign-out), the session stays behind and ends.
    private const string RestampScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        if (redis.call('HGET', KEYS[1], 'ep') or '0') ~= ARGV[2] then return 0 end
        redis.call('HSET', KEYS[1], 'ep', ARGV[1])
        return 1
        """;

    private readonly byte[] _key = Encoding.UTF8.GetBytes(secrets.SessionSecret);

    /// <summary>A new session under <paramref name="epoch"/>, the account's epoch read with its password hash.</summary>
    public async Task<(string Cookie, SessionInfo Session)> CreateAsync(Guid userId, string email, string role, long epoch, string? ip, string? userAgent)
    {
        var cookie = Base64Url(RandomNumberGenerator.GetBytes(16));
        var id = IdOf(cookie);
        var now = clock.GetUtcNow();
        var session = options.Value;
        var nowMs = now.ToUnixTimeMilliseconds();
        string[] fields =
        [
            "uid", userId.ToString(), "email", email, "role", role,
            "created", Ms(nowMs), "seen", Ms(nowMs), "abs", Ms(nowMs + (long)session.AbsoluteTimeout.TotalMilliseconds),
            "ip", Truncate(ip, 64), "ua", Truncate(userAgent, 256), "ep", AuthEpochs.Text(epoch),
        ];
        await redis.EvaluateAsync(CreateScript, [SessionKey(id), UserSessionsKey(userId), AuthEpochs.UserKeyBase],
            [Ms((long)session.IdleTimeout.TotalMilliseconds), Ms((long)session.AbsoluteTimeout.TotalMilliseconds), id, userId.ToString(),
                AuthEpochs.Text(epoch), .. fields]);
        QuartetMetrics.SessionCreated();
        return (cookie, new SessionInfo(id, userId, email, role, now, now, ip, userAgent));
    }

    /// <summary>Finds the live session behind a cookie and (unless <paramref name="slide"/> is false) slides its expiry; null when there is none.</summary>
    public async Task<SessionInfo?> TouchAsync(string cookie, bool slide = true)
    {
        if (cookie.Length is < 16 or > 64)
        {
            return null;
        }
        var id = IdOf(cookie);
        for (var attempt = 0; ; attempt++)
        {
            var reply = await redis.EvaluateAsync(TouchScript, [SessionKey(id), AuthEpochs.UserKeyBase],
                [Ms(clock.GetUtcNow().ToUnixTimeMilliseconds()), Ms((long)options.Value.IdleTimeout.TotalMilliseconds), slide ? "1" : "0", id]);
            if (reply is ["load", var owner] && attempt == 0 && Guid.TryParse(owner, out var userId))
            {
                // Redis lost the copy (a flush, a new instance): PostgreSQL has it. Rare, so not the hot path.
                if (await epochs.LoadAsync(userId) is null)
                {
                    await redis.DeleteAsync(SessionKey(id));
                    return null;
                }
                continue;
            }
            return reply.Count == 9 ? Parse(id, reply) : null;
        }
    }

    /// <summary>
    /// Moves the session <paramref name="id"/> to <paramref name="epoch"/>, so the change its own request makes does
    /// not end it; only from <paramref name="epoch"/> − 1, so it never survives another raise that came first.
    /// </summary>
    public Task RestampAsync(string id, long epoch) =>
        IsId(id) ? redis.EvaluateAsync(RestampScript, [SessionKey(id)], [AuthEpochs.Text(epoch), AuthEpochs.Text(epoch - 1)]) : Task.CompletedTask;

    public async Task<IReadOnlyList<SessionInfo>> ListAsync(Guid userId)
    {
        var sessions = new List<SessionInfo>();
        var nowMs = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var idleMs = (long)options.Value.IdleTimeout.TotalMilliseconds;
        var epoch = await redis.GetAsync(AuthEpochs.Key(userId)) is { } copy ? long.Parse(copy, CultureInfo.InvariantCulture) : await epochs.LoadAsync(userId) ?? long.MaxValue;
        foreach (var id in await redis.SetMembersAsync(UserSessionsKey(userId)))
        {
            var fields = await redis.HashGetAllAsync(SessionKey(id));
            string?[] values = [.. new[] { "uid", "email", "role", "created", "seen", "abs", "ip", "ua" }.Select(f => fields.GetValueOrDefault(f))];
            var live = values[0] is not null && nowMs - long.Parse(values[4]!, CultureInfo.InvariantCulture) < idleMs
                && nowMs < long.Parse(values[5]!, CultureInfo.InvariantCulture)
                && long.Parse(fields.GetValueOrDefault("ep", "0"), CultureInfo.InvariantCulture) >= epoch;
            if (live)
            {
                sessions.Add(Parse(id, values));
            }
            else
            {
                await EndAsync(userId, id);
            }
        }
        return [.. sessions.OrderByDescending(s => s.LastSeenAt)];
    }

    /// <summary>Ends one session of <paramref name="userId"/>; false when it is not theirs or already gone.</summary>
    public async Task<bool> EndAsync(Guid userId, string id)
    {
        if (!IsId(id))
        {
            return false;
        }
        var fields = await redis.HashGetAllAsync(SessionKey(id));
        await redis.SetRemoveAsync(UserSessionsKey(userId), id);
        if (fields.GetValueOrDefault("uid") != userId.ToString())
        {
            return false;
        }
        var ended = await redis.DeleteAsync(SessionKey(id));
        QuartetMetrics.SessionsEndedOnPurpose(ended ? 1 : 0);
        return ended;
    }

    /// <summary>Ends the session behind a cookie, whoever owns it (login does this to the session it replaces).</summary>
    public async Task EndByCookieAsync(string cookie)
    {
        if (cookie.Length is < 16 or > 64)
        {
            return;
        }
        var id = IdOf(cookie);
        var owner = (await redis.HashGetAllAsync(SessionKey(id))).GetValueOrDefault("uid");
        if (Guid.TryParse(owner, out var userId))
        {
            await EndAsync(userId, id);
        }
    }

    /// <summary>Ends every session of the user but <paramref name="keep"/>; returns how many ended.</summary>
    public async Task<int> EndAllAsync(Guid userId, string? keep = null)
    {
        var ids = (await redis.SetMembersAsync(UserSessionsKey(userId))).Where(id => id != keep).ToList();
        var ended = (int)await redis.DeleteAsync([.. ids.Select(SessionKey)]);
        QuartetMetrics.SessionsEndedOnPurpose(ended);
        foreach (var id in ids)
        {
            await redis.SetRemoveAsync(UserSessionsKey(userId), id);
        }
        return ended;
    }

    /// <summary>The CSRF token of a session: derived from it, so it needs no storage and fits no other session.</summary>
    public string CsrfToken(string id) => Base64Url(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes("csrf:" + id)));

    public bool IsValidCsrfToken(string id, string? token) =>
        token is { Length: > 0 and < 100 }
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(CsrfToken(id)), Encoding.UTF8.GetBytes(token));

    private string IdOf(string cookie) => Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(cookie)));

    private static bool IsId(string id) => id.Length == 64 && id.All(char.IsAsciiHexDigitLower);

    private static string SessionKey(string id) => "session:" + id;

    private static string UserSessionsKey(Guid userId) => $"user:{userId}:sessions";

    private static SessionInfo Parse(string id, IReadOnlyList<string?> v) => new(id, Guid.Parse(v[0]!), v[1]!, v[2]!,
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(v[3]!, CultureInfo.InvariantCulture)),
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(v[4]!, CultureInfo.InvariantCulture)),
        NullIfEmpty(v[6]), NullIfEmpty(v[7]));

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string Truncate(string? value, int length) => value is null ? "" : value.Length <= length ? value : value[..length];

    private static string Ms(long value) => value.ToString(CultureInfo.InvariantCulture);

    internal static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
