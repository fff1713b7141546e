using System.Diagnostics;
using System.Text;

namespace Quartet.Api.Tests.Support;

/// <summary>
/// Records every command a Redis server receives (redis-cli MONITOR), so a test can count round trips.
/// Commands a Lua script runs show up tagged "lua" and are not round trips.
/// </summary>
internal sealed class RedisMonitor : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _lines = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RedisMonitor(RedisServer server)
    {
        var info = new ProcessStartInfo(Quartet.Stack.Tools.RedisCli())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["REDISCLI_AUTH"] = server.CliLogin.Password },
        };
        foreach (var arg in (string[])["-h", "127.0.0.1", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--user", server.CliLogin.User, "--no-auth-warning", "MONITOR"])
        {
            info.ArgumentList.Add(arg);
        }
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            if (e.Data == "OK")
            {
                _ready.TrySetResult();
                return;
            }
            lock (_lines)
            {
                _lines.AppendLine(e.Data);
            }
        };
    }

    public static async Task<RedisMonitor> StartAsync(RedisServer server)
    {
        var monitor = new RedisMonitor(server);
        monitor._process.Start();
        monitor._process.BeginOutputReadLine();
        await monitor._ready.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return monitor;
    }

    /// <summary>Stops recording (after a moment for the last lines) and returns the commands sent by clients.</summary>
    public async Task<IReadOnlyList<string>> StopAsync()
    {
        await Task.Delay(300);
        _process.Kill();
        await _process.WaitForExitAsync();
        lock (_lines)
        {
            return [.. _lines.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(line => !line.Contains(" lua]", StringComparison.Ordinal))];
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
