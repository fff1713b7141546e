using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Redis;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>
/// Short-lived access tokens, and the one thing that can cut them short: a per-user "revoked before"
/// mark in Redis (a Unix second), set when the user is disabled or changes password. Checking it is the bearer path's
/// one Redis round trip; the mark expires once every token it could refuse has expired anyway.
/// </summary>
internal sealed partial class AccessTokens(AuthSecrets secrets, IRedisStore redis, IOptions<TokenOptions> options, TimeProvider clock,
    ILogger<AccessTokens> logger)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(secrets.JwtSecret);

    public TimeSpan Lifetime => options.Value.AccessTokenLifetime;

    public string Issue(Guid userId, string email, string role)
    {
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        var tokens = options.Value;
        return Jwt.Create(new JwtClaims(tokens.Issuer, tokens.Audience, userId.ToString(), email, role, now,
            now + (long)tokens.AccessTokenLifetime.TotalSeconds, Guid.NewGuid().ToString("N")), _key);
    }

    public async Task<(JwtFailure Failure, JwtClaims? Claims)> ValidateAsync(string token)
    {
        var tokens = options.Value;
        var failure = Jwt.Validate(token, _key, tokens.Issuer, tokens.Audience, clock.GetUtcNow(), out var claims);
        if (failure != JwtFailure.None || claims is null)
        {
            return (failure, null);
        }
        string? revokedBefore;
        try
        {
            revokedBefore = await redis.GetAsync(RevokedKey(claims.Subject));
        }
        catch (DependencyUnavailableException)
        {
            // Fail open while Redis is away: the token is signed and lives 15 minutes at most, and the API
            // keeps answering from PostgreSQL. A revocation made before the outage may be missed meanwhile.
            LogRevocationUnchecked(logger);
            return (JwtFailure.None, claims);
        }
        // iat has whole seconds, so a token issued in the same second as the revocation is refused too:
        // erring that way costs a client one new login, the other way would let a revoked token live on.
        if (revokedBefore is not null && claims.IssuedAt <= long.Parse(revokedBefore, CultureInfo.InvariantCulture))
        {
            return (JwtFailure.Expired, null);
        }
        return (JwtFailure.None, claims);
    }

    /// <summary>Every access token of the user issued up to now stops working.</summary>
    public Task RevokeAllAsync(Guid userId) =>
        redis.SetAsync(RevokedKey(userId.ToString()),
            clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            options.Value.AccessTokenLifetime + TimeSpan.FromMinutes(1));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis unavailable: access token accepted without its revocation check")]
    private static partial void LogRevocationUnchecked(ILogger logger);

    private static string RevokedKey(string userId) => $"user:{userId}:tokens-revoked-before";
}
