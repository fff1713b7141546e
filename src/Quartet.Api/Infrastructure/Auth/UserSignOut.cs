namespace Quartet.Api.Infrastructure.Auth;

/// <summary>Signs a user out everywhere: cookie sessions, refresh tokens and access tokens.</summary>
internal sealed class UserSignOut(SessionStore sessions, RefreshTokenStore refresh, AuthEpochs epochs)
{
    /// <summary>
    /// Called once PostgreSQL has committed the account's new <paramref name="epoch"/> (decision 0014). Moves
    /// <paramref name="keepSessionId"/> to it first, then raises Redis's copy of the epoch: from that single
    /// step on, every session, refresh token and access token issued under an older epoch is refused, whatever
    /// raced with it. Then it deletes the user's other sessions and refresh tokens (tidying up; nothing depends on
    /// it) and returns the number of sessions ended. It takes no CancellationToken: the Redis calls accept none,
    /// and a sign-out should not stop halfway because the client went away. If Redis fails, the epoch stays
    /// queued in PostgreSQL and the backend copies it once Redis is back.
    /// </summary>
    public async Task<int> EndEverythingAsync(Guid userId, long epoch, string? keepSessionId = null)
    {
        if (keepSessionId is not null)
        {
            await sessions.RestampAsync(keepSessionId, epoch);
        }
        await epochs.RaiseAsync(userId, epoch);
        var ended = await sessions.EndAllAsync(userId, keep: keepSessionId);
        await refresh.RevokeAllAsync(userId);
        return ended;
    }
}
