using Microsoft.Extensions.Options;

namespace Quartet.Api.Infrastructure.Idempotency;

/// <summary>
/// Deletes Idempotency-Key records older than Idempotency:Retention, every Idempotency:SweepInterval, in
/// every replica. Replicas sweeping at the same moment take disjoint batches (SKIP LOCKED), so running
/// it everywhere costs nothing and needs no leader. A record past its retention already counts as
/// absent before it is swept; the sweep only frees the space.
/// </summary>
internal sealed partial class IdempotencySweeper(IdempotencyStore store, IOptions<IdempotencyOptions> options, TimeProvider clock,
    ILogger<IdempotencySweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SweepInterval;
        // Replicas started together do not sweep in step.
        var delay = interval * (System.Security.Cryptography.RandomNumberGenerator.GetInt32(1000) / 1000.0);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, clock, stoppingToken);
                var deleted = await store.SweepAsync(stoppingToken);
                if (deleted > 0)
                {
                    LogSwept(logger, deleted);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // PostgreSQL away, most likely: old records wait for the next round, and count as absent meanwhile.
                LogSweepFailed(logger, e.GetType().Name, e.Message);
            }
            delay = interval;
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "idempotency keys swept: {Deleted} past their retention")]
    private static partial void LogSwept(ILogger logger, int deleted);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "idempotency sweep failed ({ExceptionType}: {Error}); retrying next round")]
    private static partial void LogSweepFailed(ILogger logger, string exceptionType, string error);
}
