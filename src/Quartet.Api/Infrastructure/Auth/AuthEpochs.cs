using System.Globalization;
using Dapper;
using Npgsql;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>
/// The per-account auth epoch (decision 0014). PostgreSQL's <c>users.auth_epoch</c> is the truth: every change
/// that must end the account's sessions and tokens raises it in the statement that makes the change. Redis holds
/// a copy, <c>user:{id}:epoch</c>, that only ever rises; the session, refresh and bearer scripts compare what a
/// credential was issued under with it inside the round trip they already make. A missing copy is read from
/// PostgreSQL and set (<see cref="LoadAsync"/>).
/// </summary>
internal sealed class AuthEpochs(IRedisStore redis, NpgsqlDataSource db)
{
    /// <summary>The Lua that raises the copy at KEYS[k] to the epoch at ARGV[a], never lowering it; the scripts that issue credentials embed it.</summary>
    public static string RaiseLua(string key, string epoch) => $"""
        do
          local current = redis.call('GET', {key})
          if not current or tonumber(current) < tonumber({epoch}) then redis.call('SET', {key}, {epoch}) end
        end
        """;

    private static readonly string RaiseScript = RaiseLua("KEYS[1]", "ARGV[1]") + "\nreturn redis.call('GET', KEYS[1])";

    /// <summary>
    /// Raises Redis's copy to <paramref name="epoch"/> (a value read from or written to PostgreSQL), then forgets
    /// the queued copy it makes redundant. From its return on, nothing issued under an older epoch works.
    /// </summary>
    public async Task RaiseAsync(Guid userId, long epoch)
    {
        await redis.EvaluateAsync(RaiseScript, [Key(userId)], [Text(epoch)]);
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync("DELETE FROM auth_epoch_outbox WHERE user_id = @userId AND epoch <= @epoch", new { userId, epoch });
    }

    /// <summary>Reads the account's epoch from PostgreSQL and raises Redis's copy to it; null when there is no such account.</summary>
    public async Task<long?> LoadAsync(Guid userId)
    {
        long? epoch;
        await using (var connection = await db.OpenConnectionAsync())
        {
            epoch = await connection.ExecuteScalarAsync<long?>("SELECT auth_epoch FROM users WHERE id = @userId", new { userId });
        }
        if (epoch is { } value)
        {
            await redis.EvaluateAsync(RaiseScript, [Key(userId)], [Text(value)]);
        }
        return epoch;
    }

    /// <summary>Copies every queued epoch to Redis; returns how many. Run by <see cref="AuthEpochWorker"/>.</summary>
    public async Task<int> DrainAsync(CancellationToken cancellationToken)
    {
        List<(Guid UserId, long Epoch)> queued;
        await using (var connection = await db.OpenConnectionAsync(cancellationToken))
        {
            queued = [.. await connection.QueryAsync<(Guid, long)>(new CommandDefinition(
                "SELECT user_id, epoch FROM auth_epoch_outbox ORDER BY queued_at LIMIT 500", cancellationToken: cancellationToken))];
        }
        foreach (var (userId, epoch) in queued)
        {
            await RaiseAsync(userId, epoch);
        }
        return queued.Count;
    }

    /// <summary>Prefix of the per-user keys, passed to scripts as a key so the store's key prefix applies to what they build from it.</summary>
    public const string UserKeyBase = "user:";

    public static string Key(Guid userId) => $"user:{userId}:epoch";

    public static string Text(long epoch) => epoch.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Copies epochs raised outside a request that could reach Redis (by migrate, by hand, or by a request whose
/// Redis call failed after PostgreSQL committed) to Redis: at start, whenever PostgreSQL notifies
/// <c>quartet_auth_epoch</c>, and every <see cref="Fallback"/> in case a notification was missed.
/// </summary>
internal sealed partial class AuthEpochWorker(AuthEpochs epochs, NpgsqlDataSource db, ILogger<AuthEpochWorker> logger) : BackgroundService
{
    private static readonly TimeSpan Fallback = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand("LISTEN quartet_auth_epoch", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (await epochs.DrainAsync(stoppingToken) is > 0 and var copied)
                    {
                        LogCopied(logger, copied);
                    }
                    await connection.WaitAsync(Fallback, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // PostgreSQL or Redis away: the queue stays, and the next round copies it.
                LogUnavailable(logger, e.GetType().Name, e.Message);
                try
                {
                    await Task.Delay(RetryAfterFailure, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "auth epochs: copied {Count} raised epochs to Redis")]
    private static partial void LogCopied(ILogger logger, int count);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "auth epochs: cannot copy queued epochs ({ExceptionType}: {Error}); retrying")]
    private static partial void LogUnavailable(ILogger logger, string exceptionType, string error);
}
