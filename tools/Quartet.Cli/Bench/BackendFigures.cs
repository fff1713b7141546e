using System.Diagnostics;
using System.Globalization;
using Quartet.Stack;

namespace Quartet.Cli.Bench;

/// <summary>What the benchmark measures of the native backend process itself: memory and start time.</summary>
internal static class BackendFigures
{
    /// <summary>A process's resident memory (VmRSS) in MB to one decimal, or null when it is not there to read.</summary>
    public static double? ResidentMb(int? pid)
    {
        if (pid is null)
        {
            return null;
        }
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            var kilobytes = line?.Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries)[1];
            return double.TryParse(kilobytes, NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? Math.Round(kb / 1024, 1) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Start -> ready: a second backend process on a free port, same settings and schema as the
    /// stack's, timed from its spawn to the first 200 from /health/ready; stopped again at once.
    /// </summary>
    public static async Task<StartToReady> StartToReadyAsync(NativeStack stack, string folder, CancellationToken cancellationToken)
    {
        await using var backend = new BackendServer(stack.Layout.AppAssembly, stack.SecondBackendEnvironment(), Ports.Free(), folder, folder, name: "backend-start")
        {
            StartTimeout = TimeSpan.FromSeconds(30),
            ProbeInterval = TimeSpan.FromMilliseconds(10),
        };
        var clock = Stopwatch.StartNew();
        try
        {
            await backend.StartAsync(cancellationToken);
            return new StartToReady((long)clock.Elapsed.TotalMilliseconds, null);
        }
        catch (StackException e)
        {
            return new StartToReady(null, e.Message);
        }
    }
}

/// <summary>Milliseconds from spawn to ready, or why there is no figure.</summary>
internal sealed record StartToReady(long? Milliseconds, string? Failure);
