namespace Quartet.Api.Infrastructure.Auth;

/// <summary>Signs a user out everywhere: cookie sessions, refresh tokens and access tokens.</summary>
internal sealed class UserSignOut(SessionStore sessions, RefreshTokenStore refresh, AccessTokens access)
{
    /// <summary>
    /// Ends every session of the user but <paramref name="keepSessionId"/>, and revokes all their refresh and
    /// access tokens; returns the number of sessions ended. It takes no CancellationToken: the Redis calls
    /// accept none, and a sign-out should not stop halfway because the client went away.
    /// </summary>
    public async Task<int> EndEverythingAsync(Guid userId, string? keepSessionId = null)
    {
        var ended = await sessions.EndAllAsync(userId, keep: keepSessionId);
        await refresh.RevokeAllAsync(userId);
        await access.RevokeAllAsync(userId);
        return ended;
    }
}
