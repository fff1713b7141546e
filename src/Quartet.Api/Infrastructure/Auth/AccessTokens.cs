using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Quartet.Api.Infrastructure.Redis;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>
/// Short-lived HS256 access tokens, minted with <see cref="JsonWebTokenHandler"/> and checked by the JwtBearer
/// handler with <see cref="ValidationParameters()"/>. Two things cut a token short, both read by one script, the
/// bearer path's one Redis round trip: the account's auth epoch moving past the token's <c>epoch</c> claim
/// (decision 0014), and the revocation of the refresh-token family named by its <c>sid</c> claim.
/// </summary>
internal sealed partial class AccessTokens(AuthSecrets secrets, IRedisStore redis, AuthEpochs epochs, IOptions<TokenOptions> options,
    TimeProvider clock, ILogger<AccessTokens> logger)
{
    public const string EpochClaim = "epoch";
    public const string FamilyClaim = "sid";

    // KEYS: 1 the account's epoch, 2 the mark of releases before epochs, 3 the family's tombstone. ARGV: 1 the
    // token's epoch, 2 its iat, 3 '1' when it has no epoch claim (the mark applies), 4 '1' when it names a family.
    // Returns 'ok', 'revoked', or 'load' when Redis has no copy of the epoch (read from PostgreSQL, then asked again).
    private const string CheckScript = """
        if ARGV[4] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then return 'revoked' end
        if ARGV[3] == '1' then
          local before = redis.call('GET', KEYS[2])
          if before and tonumber(ARGV[2]) <= tonumber(before) then return 'revoked' end
        end
        local current = redis.call('GET', KEYS[1])
        if not current then return 'load' end
        if tonumber(ARGV[1]) < tonumber(current) then return 'revoked' end
        return 'ok'
        """;

    private readonly SymmetricSecurityKey _key = new(Encoding.UTF8.GetBytes(secrets.JwtSecret));
    // Times come from the app's clock below, and no nbf is added: the handler's defaults would read the machine's.
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    public TimeSpan Lifetime => options.Value.AccessTokenLifetime;

    /// <summary>A token under <paramref name="epoch"/> (the account's, as read with its password hash or its refresh family's), of <paramref name="family"/>.</summary>
    public string Issue(Guid userId, string email, string role, long epoch, string family)
    {
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        var tokens = options.Value;
        // All claims in one dictionary, in the order Quartet has always written them, so a token reads the same
        // to every replica of a rolling upgrade.
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Iss] = tokens.Issuer,
                [JwtRegisteredClaimNames.Aud] = tokens.Audience,
                [CurrentUser.IdClaim] = userId.ToString(),
                [CurrentUser.EmailClaim] = email,
                [CurrentUser.RoleClaim] = role,
                [JwtRegisteredClaimNames.Iat] = now,
                [JwtRegisteredClaimNames.Exp] = now + (long)tokens.AccessTokenLifetime.TotalSeconds,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
                [EpochClaim] = epoch,
                [FamilyClaim] = family,
            },
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
    }

    public TokenValidationParameters ValidationParameters() => ValidationParameters(_key, options.Value, clock);

    /// <summary>What the framework checks: HS256 with this key, issuer, audience and lifetime by <paramref name="clock"/>.</summary>
    internal static TokenValidationParameters ValidationParameters(SecurityKey key, TokenOptions tokens, TimeProvider clock) => new()
    {
        IssuerSigningKey = key,
        // none, other HMAC sizes and asymmetric algorithms never reach a signature check.
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ValidIssuer = tokens.Issuer,
        ValidAudience = tokens.Audience,
        IgnoreTrailingSlashWhenValidatingAudience = false,
        ClockSkew = TimeSpan.Zero,
        // The framework's own lifetime check reads the machine's clock; this one reads the app's TimeProvider, and
        // refuses a token from its exp second on (RFC 7519 4.1.4).
        LifetimeValidator = (notBefore, expires, _, _) =>
        {
            var now = clock.GetUtcNow().UtcDateTime;
            if (expires is not { } expiresAt)
            {
                throw new SecurityTokenNoExpirationException("The token has no exp.");
            }
            if (expiresAt <= now)
            {
                throw new SecurityTokenExpiredException("The token has expired.") { Expires = expiresAt };
            }
            if (notBefore is { } notBeforeAt && notBeforeAt > now)
            {
                throw new SecurityTokenNotYetValidException("The token is not valid yet.") { NotBefore = notBeforeAt };
            }
            return true;
        },
        NameClaimType = CurrentUser.IdClaim,
        RoleClaimType = CurrentUser.RoleClaim,
    };

    /// <summary>
    /// True when the token was revoked: the account's epoch is past <paramref name="epoch"/> or its family was
    /// revoked. A token minted before epochs existed has neither claim: it counts as epoch 0 and is also held to
    /// the whole-second mark those releases wrote, which expires with the last token it could refuse.
    /// </summary>
    public async Task<bool> IsRevokedAsync(Guid userId, long? epoch, string? family, long issuedAt)
    {
        string[] keys = [AuthEpochs.Key(userId), LegacyRevokedKey(userId), RefreshTokenStore.TombstoneKey(family ?? "-")];
        string[] args = [AuthEpochs.Text(epoch ?? 0), issuedAt.ToString(CultureInfo.InvariantCulture), epoch is null ? "1" : "0",
            family is null ? "0" : "1"];
        try
        {
            var reply = await redis.EvaluateAsync(CheckScript, keys, args);
            if (reply is ["load"])
            {
                if (await epochs.LoadAsync(userId) is null)
                {
                    return true;
                }
                reply = await redis.EvaluateAsync(CheckScript, keys, args);
            }
            return reply is not ["ok"];
        }
        catch (DependencyUnavailableException)
        {
            // Fail open while Redis is away: the token is signed and lives 15 minutes at most, and the API
            // keeps answering from PostgreSQL. A revocation made before the outage may be missed meanwhile.
            LogRevocationUnchecked(logger);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis unavailable: access token accepted without its revocation check")]
    private static partial void LogRevocationUnchecked(ILogger logger);

    private static string LegacyRevokedKey(Guid userId) => $"user:{userId}:tokens-revoked-before";
}
