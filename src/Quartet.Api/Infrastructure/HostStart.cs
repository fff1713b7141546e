namespace Quartet.Api.Infrastructure;

internal static class HostStart
{
    /// <summary>
    /// Completes once the server listens (at once if it already does). A background worker waits for it
    /// before its first round: started with the host, the rounds' first queries (new connections, JIT,
    /// Dapper's generated readers) ran while the host started and competed with it for the CPU
    /// (docs/performance.md). False when stopped before it started.
    /// </summary>
    public static async Task<bool> WhenStartedAsync(this IHostApplicationLifetime lifetime, CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        try
        {
            await started.Task.WaitAsync(stoppingToken);
            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
