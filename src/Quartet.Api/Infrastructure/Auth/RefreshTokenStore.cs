using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Infrastructure.Auth;

internal sealed record RefreshSpend(RefreshOutcome Outcome, Guid UserId, string Family, long FamilyExpiresMs);

internal enum RefreshOutcome
{
    Rotated,
    Unknown,
    Expired,
    Reused,
}

/// <summary>
/// Opaque, single-use refresh tokens in Redis, kept under their SHA-256. Each login starts a family that
/// lives 30 days from that login however often it rotates; each rotation spends a token and issues the
/// next of the same family. A spent token presented again means it was copied: the whole family is
/// revoked, the thief's copy and the owner's alike.
/// </summary>
internal sealed class RefreshTokenStore(IRedisStore redis, IOptions<TokenOptions> options, TimeProvider clock)
{
    private const string IssueScript = """
        redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'fam', ARGV[2], 'used', '0', 'exp', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('SADD', KEYS[2], ARGV[5])
        redis.call('PEXPIRE', KEYS[2], ARGV[4])
        redis.call('SADD', KEYS[3], ARGV[2])
        -- The user's index of families lives as long as the longest-lived family in it.
        if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[3], ARGV[4]) end
        return {'1'}
        """;

    // Spends a token atomically: of two concurrent presentations exactly one rotates.
    private const string SpendScript = """
        local t = redis.call('HMGET', KEYS[1], 'uid', 'fam', 'used', 'exp')
        if not t[1] then return {'unknown'} end
        if t[3] == '1' then return {'reused', t[1], t[2], t[4]} end
        if tonumber(ARGV[1]) >= tonumber(t[4]) then return {'expired', t[1], t[2], t[4]} end
        redis.call('HSET', KEYS[1], 'used', '1')
        return {'rotated', t[1], t[2], t[4]}
        """;

    /// <summary>A new family, at login.</summary>
    public Task<string> IssueAsync(Guid userId) => IssueAsync(userId, Guid.NewGuid().ToString("N"),
        clock.GetUtcNow().ToUnixTimeMilliseconds() + (long)options.Value.RefreshTokenLifetime.TotalMilliseconds);

    public async Task<RefreshSpend> SpendAsync(string token)
    {
        if (token.Length is < 32 or > 128)
        {
            return new(RefreshOutcome.Unknown, Guid.Empty, "", 0);
        }
        var reply = await redis.EvaluateAsync(SpendScript, [TokenKey(token)], [Now()]);
        var outcome = reply[0] switch
        {
            "rotated" => RefreshOutcome.Rotated,
            "reused" => RefreshOutcome.Reused,
            "expired" => RefreshOutcome.Expired,
            _ => RefreshOutcome.Unknown,
        };
        return outcome == RefreshOutcome.Unknown
            ? new(outcome, Guid.Empty, "", 0)
            : new(outcome, Guid.Parse(reply[1]!), reply[2]!, long.Parse(reply[3]!, CultureInfo.InvariantCulture));
    }

    /// <summary>The next token of <paramref name="family"/>, expiring with the family.</summary>
    public async Task<string> IssueAsync(Guid userId, string family, long familyExpiresMs)
    {
        var token = SessionStore.Base64Url(RandomNumberGenerator.GetBytes(32));
        var lifetime = Math.Max(1, familyExpiresMs - clock.GetUtcNow().ToUnixTimeMilliseconds());
        await redis.EvaluateAsync(IssueScript, [TokenKey(token), FamilyKey(family), UserFamiliesKey(userId)],
            [userId.ToString(), family, Ms(familyExpiresMs), Ms(lifetime), Hash(token)]);
        return token;
    }

    public async Task RevokeFamilyAsync(string family)
    {
        var hashes = await redis.SetMembersAsync(FamilyKey(family));
        await redis.DeleteAsync([.. hashes.Select(h => "refresh:" + h), FamilyKey(family)]);
    }

    public async Task RevokeAllAsync(Guid userId)
    {
        foreach (var family in await redis.SetMembersAsync(UserFamiliesKey(userId)))
        {
            await RevokeFamilyAsync(family);
        }
        await redis.DeleteAsync(UserFamiliesKey(userId));
    }

    private string Now() => Ms(clock.GetUtcNow().ToUnixTimeMilliseconds());

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string TokenKey(string token) => "refresh:" + Hash(token);

    private static string FamilyKey(string family) => "refresh-family:" + family;

    private static string UserFamiliesKey(Guid userId) => $"user:{userId}:refresh-families";

    private static string Ms(long value) => value.ToString(CultureInfo.InvariantCulture);
}
