using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Infrastructure.Auth;

internal enum RefreshOutcome
{
    Rotated,
    Unknown,
    Expired,
    Reused,
}

/// <summary>
/// Opaque, single-use refresh tokens in Redis, kept under their SHA-256. Each login starts a family;
/// each rotation spends a token and issues the next of the same family. A spent token presented again
/// means it was copied: the whole family is revoked, the thief's copy and the owner's alike.
/// </summary>
internal sealed class RefreshTokenStore(IRedisStore redis, IOptions<TokenOptions> options, TimeProvider clock)
{
    private const string IssueScript = """
        redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'fam', ARGV[2], 'used', '0', 'exp', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('SADD', KEYS[2], ARGV[5])
        redis.call('PEXPIRE', KEYS[2], ARGV[4])
        redis.call('SADD', KEYS[3], ARGV[2])
        redis.call('PEXPIRE', KEYS[3], ARGV[4])
        return {'1'}
        """;

    // Spends a token atomically: of two concurrent presentations exactly one rotates.
    private const string SpendScript = """
        local t = redis.call('HMGET', KEYS[1], 'uid', 'fam', 'used', 'exp')
        if not t[1] then return {'unknown'} end
        if t[3] == '1' then return {'reused', t[1], t[2]} end
        if tonumber(ARGV[1]) >= tonumber(t[4]) then return {'expired', t[1], t[2]} end
        redis.call('HSET', KEYS[1], 'used', '1')
        return {'rotated', t[1], t[2]}
        """;

    public Task<string> IssueAsync(Guid userId) => IssueAsync(userId, Guid.NewGuid().ToString("N"));

    public async Task<(RefreshOutcome Outcome, Guid UserId, string Family)> SpendAsync(string token)
    {
        if (token.Length is < 32 or > 128)
        {
            return (RefreshOutcome.Unknown, Guid.Empty, "");
        }
        var reply = await redis.EvaluateAsync(SpendScript, [TokenKey(token)], [Now()]);
        var outcome = reply[0] switch
        {
            "rotated" => RefreshOutcome.Rotated,
            "reused" => RefreshOutcome.Reused,
            "expired" => RefreshOutcome.Expired,
            _ => RefreshOutcome.Unknown,
        };
        return outcome == RefreshOutcome.Unknown ? (outcome, Guid.Empty, "") : (outcome, Guid.Parse(reply[1]!), reply[2]!);
    }

    public async Task<string> IssueAsync(Guid userId, string family)
    {
        var token = SessionStore.Base64Url(RandomNumberGenerator.GetBytes(32));
        var lifetime = (long)options.Value.RefreshTokenLifetime.TotalMilliseconds;
        var expires = clock.GetUtcNow().ToUnixTimeMilliseconds() + lifetime;
        await redis.EvaluateAsync(IssueScript, [TokenKey(token), FamilyKey(family), UserFamiliesKey(userId)],
            [userId.ToString(), family, Ms(expires), Ms(lifetime), Hash(token)]);
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
