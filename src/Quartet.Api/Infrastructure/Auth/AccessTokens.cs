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
/// handler with <see cref="ValidationParameters()"/>. One thing can cut a token short: a per-user "revoked before"
/// mark in Redis (a Unix second), set when the user is disabled or changes password. Checking it is the bearer
/// path's one Redis round trip; the mark expires once every token it could refuse has expired anyway.
/// </summary>
internal sealed partial class AccessTokens(AuthSecrets secrets, IRedisStore redis, IOptions<TokenOptions> options, TimeProvider clock,
    ILogger<AccessTokens> logger)
{
    private readonly SymmetricSecurityKey _key = new(Encoding.UTF8.GetBytes(secrets.JwtSecret));
    // Times come from the app's clock below, and no nbf is added: the handler's defaults would read the machine's.
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    public TimeSpan Lifetime => options.Value.AccessTokenLifetime;

    public string Issue(Guid userId, string email, string role)
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
    /// True when the user's tokens issued up to <paramref name="issuedAt"/> (a Unix second) were revoked.
    /// </summary>
    public async Task<bool> IsRevokedAsync(Guid userId, long issuedAt)
    {
        string? revokedBefore;
        try
        {
            revokedBefore = await redis.GetAsync(RevokedKey(userId));
        }
        catch (DependencyUnavailableException)
        {
            // Fail open while Redis is away: the token is signed and lives 15 minutes at most, and the API
            // keeps answering from PostgreSQL. A revocation made before the outage may be missed meanwhile.
            LogRevocationUnchecked(logger);
            return false;
        }
        // iat has whole seconds, so a token issued in the same second as the revocation is refused too:
        // erring that way costs a client one new login, the other way would let a revoked token live on.
        return revokedBefore is not null && issuedAt <= long.Parse(revokedBefore, CultureInfo.InvariantCulture);
    }

    /// <summary>Every access token of the user issued up to now stops working.</summary>
    public Task RevokeAllAsync(Guid userId) =>
        redis.SetAsync(RevokedKey(userId),
            clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            options.Value.AccessTokenLifetime + TimeSpan.FromMinutes(1));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis unavailable: access token accepted without its revocation check")]
    private static partial void LogRevocationUnchecked(ILogger logger);

    private static string RevokedKey(Guid userId) => $"user:{userId}:tokens-revoked-before";
}
