using System.Diagnostics;
using Docker.DotNet;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// A dockerd this suite started because no engine answered; stopped again at the end. An engine
/// that was already running is left alone.
/// </summary>
public sealed class DockerDaemon : IAsyncDisposable
{
    private readonly int _pid;
    private readonly ComposeLog _log;

    private DockerDaemon(int pid, ComposeLog log)
    {
        _pid = pid;
        _log = log;
    }

    public static async Task<bool> AnswersAsync(IDockerClient docker, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(20));
        try
        {
            await docker.System.PingAsync(limit.Token);
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or DockerApiException or TimeoutException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>Null when an engine answers; else starts dockerd (in its own session, logging to <paramref name="logFile"/>) and waits up to 60 s for it.</summary>
    public static async Task<DockerDaemon?> EnsureAsync(IDockerClient docker, string logFile, ComposeLog log, CancellationToken cancellationToken)
    {
        if (await AnswersAsync(docker, cancellationToken))
        {
            log.Say("a Docker engine answers");
            return null;
        }
        log.Say($"no Docker engine answers; starting dockerd (log: {logFile})");
        await File.AppendAllTextAsync(logFile, $"==== {DateTime.UtcNow:O} compose tests: dockerd start ====\n", cancellationToken);
        // setsid: the engine is not in the test run's process group, so a Ctrl-C meant for the tests
        // does not reach it before the suite has taken its stack down.
        var info = new ProcessStartInfo("sh") { UseShellExecute = false };
        foreach (var argument in new[] { "-c", "exec setsid dockerd >>\"$0\" 2>&1 </dev/null", logFile })
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dockerd");
        var daemon = new DockerDaemon(process.Id, log);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                break;
            }
            if (await AnswersAsync(docker, cancellationToken))
            {
                log.Say($"dockerd (pid {process.Id}) answers after {deadline.Elapsed.TotalSeconds:0} s");
                return daemon;
            }
            await Task.Delay(500, cancellationToken);
        }
        await daemon.DisposeAsync();
        var tail = string.Join('\n', File.ReadLines(logFile).TakeLast(20));
        throw new InvalidOperationException($"dockerd did not answer within 60 s (log: {logFile})\n{tail}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!Native.IsAlive(_pid))
        {
            return;
        }
        _log.Say($"stopping the dockerd this suite started (pid {_pid})");
        Native.Signal(_pid, Native.SigTerm);
        var deadline = Stopwatch.StartNew();
        while (Native.IsAlive(_pid) && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(200, CancellationToken.None);
        }
        if (Native.IsAlive(_pid))
        {
            _log.Say($"dockerd (pid {_pid}) did not stop within 30 s; sending SIGKILL");
            Native.Signal(_pid, Native.SigKill);
        }
    }
}
