using Microsoft.Extensions.Options;
using Npgsql;

namespace Quartet.Api.Infrastructure.Database;

/// <summary>
/// Waits for PostgreSQL at start with a bounded backoff, so a service started beside its database
/// (compose, systemd, a laptop) does not fail on the first refused connection.
/// </summary>
internal sealed partial class DatabaseStartup(NpgsqlDataSource dataSource, IOptions<DatabaseOptions> options, ILogger<DatabaseStartup> logger)
{
    public Task WaitAsync(CancellationToken cancellationToken) => WaitAsync(dataSource, cancellationToken);

    /// <summary>Waits until <paramref name="source"/> opens a connection (migrate's bootstrap passes the superuser's).</summary>
    public async Task WaitAsync(NpgsqlDataSource source, CancellationToken cancellationToken)
    {
        var db = options.Value;
        var secret = DatabaseExtensions.PasswordOf(db, new NpgsqlConnectionStringBuilder(source.ConnectionString).Username ?? db.Username).Name;
        var deadline = TimeSpan.FromSeconds(db.StartupTimeoutSeconds);
        var started = TimeProvider.System.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await source.OpenConnectionAsync(cancellationToken);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                var elapsed = TimeProvider.System.GetElapsedTime(started);
                if (elapsed + delay > deadline)
                {
                    throw new StartupException(
                        $"PostgreSQL at {db.Host}:{db.Port} (database {db.Name}) did not accept a connection within " +
                        $"{db.StartupTimeoutSeconds} s: {Describe(e)}. Is it running, and are Database__Host/Port and {secret} right?");
                }
                LogWaiting(logger, db.Host, db.Port, attempt, Describe(e));
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
        }
    }

    /// <summary>The error's kind and SQL state, never the connection string.</summary>
    public static string Describe(Exception e) => e switch
    {
        PostgresException pg => $"{pg.SqlState} {pg.MessageText}",
        NpgsqlException { InnerException: { } inner } => inner.Message,
        _ => e.Message,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Waiting for PostgreSQL at {Host}:{Port} (attempt {Attempt}): {Reason}")]
    private static partial void LogWaiting(ILogger logger, string host, int port, int attempt, string reason);
}
