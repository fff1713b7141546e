using System.Diagnostics.Metrics;
using Dapper;
using Npgsql;

namespace Quartet.Api.Infrastructure.Observability;

/// <summary>
/// When the last backup and the last restore drill succeeded, as gauges of Unix seconds (0: never),
/// read from the backup_status table that the backup tools write (decision 0022). Every replica reads it
/// once per <see cref="Period"/> in the background; a scrape reads the last value and never waits for the
/// database, however many scrapers there are. Until the first read succeeds (or while the table is
/// missing) the gauges are absent rather than a guess.
/// </summary>
internal sealed partial class BackupMetrics(NpgsqlDataSource db, ILogger<BackupMetrics> logger) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(15);

    // Written by the one reader, read at scrape time; static because the gauges live on the static meter.
    private static volatile Times? _last;

    private sealed record Times(double Backup, double Drill);

    static BackupMetrics()
    {
        var meter = QuartetMetrics.Meter;
        meter.CreateObservableGauge("quartet.backup.last_success_timestamp", () => Value(t => t.Backup), "s",
            "When the last backup succeeded, in Unix seconds; 0 when none has (backup_status).");
        meter.CreateObservableGauge("quartet.backup.drill.last_success_timestamp", () => Value(t => t.Drill), "s",
            "When the last restore drill succeeded, in Unix seconds; 0 when none has (backup_status).");
    }

    private static IEnumerable<Measurement<double>> Value(Func<Times, double> pick) =>
        _last is { } last ? [new Measurement<double>(pick(last))] : [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        do
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(stoppingToken);
                var rows = (await connection.QueryAsync<(string Kind, double Seconds)>(new CommandDefinition(
                    "SELECT kind, extract(epoch FROM succeeded_at)::float8 FROM backup_status", cancellationToken: stoppingToken))).ToDictionary(r => r.Kind, r => r.Seconds);
                _last = new Times(rows.GetValueOrDefault("backup"), rows.GetValueOrDefault("drill"));
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                _last = null;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                // The readiness gauges already say the database is unreachable; the last times stay as they were.
                LogUnread(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "backup_status could not be read: {Reason}")]
    private static partial void LogUnread(ILogger logger, string reason);
}
