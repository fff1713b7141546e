using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>What a rotation did. <see cref="Epoch"/> is the family's: the epoch it was issued under at login.</summary>
internal sealed record RefreshRotation(RefreshOutcome Outcome, Guid UserId, string Family, long Epoch, string? Next);

internal enum RefreshOutcome
{
    /// <summary>The token was spent and <see cref="RefreshRotation.Next"/> issued, in one step.</summary>
    Rotated,
    Unknown,
    Expired,
    /// <summary>The token was spent before: the family is revoked now.</summary>
    Reused,
    /// <summary>The family was revoked, or the account's epoch moved past it (then it is revoked now).</summary>
    Revoked,
}

/// <summary>
/// Opaque, single-use refresh tokens in Redis, kept under their SHA-256. Each login starts a family that
/// lives 30 days from that login however often it rotates, under the account's epoch at that login. A
/// rotation is one script: it spends the token, checks that the family is not revoked and that the account's
/// epoch has not moved past it, and issues the next token, so no revocation can fall between those steps. A
/// spent token presented again means it was copied: the whole family is revoked, the thief's copy and the
/// owner's alike. Revoking a family deletes its tokens and leaves a tombstone for the family's remaining life,
/// which access tokens of the family are checked against too.
/// </summary>
internal sealed class RefreshTokenStore(IRedisStore redis, AuthEpochs epochs, IOptions<TokenOptions> options, TimeProvider clock)
{
    // Keys a script builds from a family id or a token hash start from these, passed as keys so the store's prefix applies.
    private const string TokenBase = "refresh:";
    private const string FamilyBase = "refresh-family:";

    // Revokes the family named by `fam` (an id): every token of it goes, and a tombstone stays as long as the family would have.
    private const string RevokeLua = """
        local function revoke(fam)
          local family = KEYS[3] .. fam
          local ttl = redis.call('PTTL', family)
          for _, hash in ipairs(redis.call('SMEMBERS', family)) do redis.call('DEL', KEYS[2] .. hash) end
          redis.call('DEL', family)
          if ttl > 0 then redis.call('SET', family .. ':revoked', '1', 'PX', ttl) end
        end

        """;

    // KEYS: 1 the new family's set, 2 the new token, 3 the user's families, 4 the user key prefix.
    private static readonly string IssueScript = """
        redis.call('HSET', KEYS[2], 'uid', ARGV[1], 'fam', ARGV[2], 'used', '0', 'exp', ARGV[3], 'ep', ARGV[6])
        redis.call('PEXPIRE', KEYS[2], ARGV[4])
        redis.call('SADD', KEYS[1], ARGV[5])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('SADD', KEYS[3], ARGV[2])
        -- The user's index of families lives as long as the longest-lived family in it.
        if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[3], ARGV[4]) end

        """ + AuthEpochs.RaiseLua("KEYS[4] .. ARGV[1] .. ':epoch'", "ARGV[6]") + """

        return {'1'}
        """;

    // KEYS: 1 the presented token, 2 the token prefix, 3 the family prefix, 4 the user key prefix, 5 the next token.
    // ARGV: 1 now (ms), 2 the next token's hash. Of two concurrent presentations exactly one rotates, and none
    // rotates once the family is revoked or the account's epoch is past the family's.
    private const string RotateScript = RevokeLua + """
        local t = redis.call('HMGET', KEYS[1], 'uid', 'fam', 'used', 'exp', 'ep')
        if not t[1] then return {'unknown'} end
        -- A family issued before epochs existed has none: it counts as epoch 0, like every account then.
        local ep = t[5] or '0'
        if t[3] == '1' then
          revoke(t[2])
          return {'reused', t[1], t[2], ep}
        end
        local now = tonumber(ARGV[1])
        local exp = tonumber(t[4])
        if now >= exp then return {'expired', t[1], t[2], ep} end
        if redis.call('EXISTS', KEYS[3] .. t[2] .. ':revoked') == 1 then return {'revoked', t[1], t[2], ep} end
        local current = redis.call('GET', KEYS[4] .. t[1] .. ':epoch')
        if not current then return {'load', t[1]} end
        if tonumber(ep) < tonumber(current) then
          revoke(t[2])
          return {'revoked', t[1], t[2], ep}
        end
        redis.call('HSET', KEYS[1], 'used', '1')
        redis.call('HSET', KEYS[5], 'uid', t[1], 'fam', t[2], 'used', '0', 'exp', t[4], 'ep', ep)
        redis.call('PEXPIRE', KEYS[5], exp - now)
        redis.call('SADD', KEYS[3] .. t[2], ARGV[2])
        redis.call('PEXPIRE', KEYS[3] .. t[2], exp - now)
        return {'rotated', t[1], t[2], ep}
        """;

    // KEYS: 1 the presented token, 2 the token prefix, 3 the family prefix. Revokes its family, spent or not.
    private const string RevokeByTokenScript = RevokeLua + """
        local t = redis.call('HMGET', KEYS[1], 'uid', 'fam')
        if not t[1] then return {'unknown'} end
        revoke(t[2])
        return {'revoked', t[1], t[2]}
        """;

    // KEYS: 1 the user's families, 2 the token prefix, 3 the family prefix. ARGV: family ids.
    private const string RevokeFamiliesScript = RevokeLua + """
        for _, fam in ipairs(ARGV) do
          revoke(fam)
          redis.call('SREM', KEYS[1], fam)
        end
        return {'1'}
        """;

    /// <summary>A new family at login, under the account's <paramref name="epoch"/> as read with its password hash; returns the token and the family.</summary>
    public async Task<(string Token, string Family)> IssueAsync(Guid userId, long epoch)
    {
        var family = Guid.NewGuid().ToString("N");
        var token = SessionStore.Base64Url(RandomNumberGenerator.GetBytes(32));
        var lifetime = (long)options.Value.RefreshTokenLifetime.TotalMilliseconds;
        await redis.EvaluateAsync(IssueScript, [FamilyBase + family, TokenKey(token), UserFamiliesKey(userId), AuthEpochs.UserKeyBase],
            [userId.ToString(), family, Ms(clock.GetUtcNow().ToUnixTimeMilliseconds() + lifetime), Ms(lifetime), Hash(token), AuthEpochs.Text(epoch)]);
        return (token, family);
    }

    /// <summary>Spends <paramref name="token"/> and issues the next of its family, or says why not (see <see cref="RefreshOutcome"/>).</summary>
    public async Task<RefreshRotation> RotateAsync(string token)
    {
        if (token.Length is < 32 or > 128)
        {
            return new(RefreshOutcome.Unknown, Guid.Empty, "", 0, null);
        }
        var next = SessionStore.Base64Url(RandomNumberGenerator.GetBytes(32));
        for (var attempt = 0; ; attempt++)
        {
            var reply = await redis.EvaluateAsync(RotateScript, [TokenKey(token), TokenBase, FamilyBase, AuthEpochs.UserKeyBase, TokenKey(next)],
                [Ms(clock.GetUtcNow().ToUnixTimeMilliseconds()), Hash(next)]);
            if (reply is ["load", var owner] && attempt == 0 && Guid.TryParse(owner, out var ownerId))
            {
                // Redis lost its copy of the account's epoch: PostgreSQL has it. The token is still unspent.
                if (await epochs.LoadAsync(ownerId) is null)
                {
                    return new(RefreshOutcome.Unknown, Guid.Empty, "", 0, null);
                }
                continue;
            }
            var outcome = reply[0] switch
            {
                "rotated" => RefreshOutcome.Rotated,
                "reused" => RefreshOutcome.Reused,
                "expired" => RefreshOutcome.Expired,
                "revoked" => RefreshOutcome.Revoked,
                _ => RefreshOutcome.Unknown,
            };
            return outcome == RefreshOutcome.Unknown || reply.Count < 4
                ? new(RefreshOutcome.Unknown, Guid.Empty, "", 0, null)
                : new(outcome, Guid.Parse(reply[1]!), reply[2]!, long.Parse(reply[3]!, CultureInfo.InvariantCulture),
                    outcome == RefreshOutcome.Rotated ? next : null);
        }
    }

    /// <summary>Revokes the family of <paramref name="token"/>, spent or not; returns its user, or null when the token is unknown.</summary>
    public async Task<Guid?> RevokeByTokenAsync(string token)
    {
        if (token.Length is < 32 or > 128)
        {
            return null;
        }
        var reply = await redis.EvaluateAsync(RevokeByTokenScript, [TokenKey(token), TokenBase, FamilyBase], []);
        return reply is ["revoked", var user, ..] ? Guid.Parse(user!) : null;
    }

    public Task RevokeFamilyAsync(Guid userId, string family) =>
        redis.EvaluateAsync(RevokeFamiliesScript, [UserFamiliesKey(userId), TokenBase, FamilyBase], [family]);

    /// <summary>
    /// Revokes every family of the user. What makes this final is the epoch raised before it (a family issued
    /// under the old epoch cannot rotate any more); this clears the tokens and leaves the tombstones.
    /// </summary>
    public async Task RevokeAllAsync(Guid userId)
    {
        var families = await redis.SetMembersAsync(UserFamiliesKey(userId));
        if (families.Count > 0)
        {
            await redis.EvaluateAsync(RevokeFamiliesScript, [UserFamiliesKey(userId), TokenBase, FamilyBase], families);
        }
    }

    /// <summary>The key whose existence means the family was revoked; the bearer check reads it for tokens that name a family.</summary>
    public static string TombstoneKey(string family) => FamilyBase + family + ":revoked";

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string TokenKey(string token) => TokenBase + Hash(token);

    private static string UserFamiliesKey(Guid userId) => $"user:{userId}:refresh-families";

    private static string Ms(long value) => value.ToString(CultureInfo.InvariantCulture);
}
