using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Quartet.Api.Tests.Support;

/// <summary>
/// A real server process (postgres, redis-server) that a test can stop and start again on the same port
/// and data directory. Output is kept for the failure message.
/// </summary>
internal abstract class ServerProcess : IAsyncDisposable
{
    private static readonly List<ServerProcess> Running = [];
    private readonly StringBuilder _output = new();
    private Process? _process;

    static ServerProcess()
    {
        // If the test host ends without disposing a server, it still does not outlive the run.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            lock (Running)
            {
                foreach (var server in Running.ToArray())
                {
                    server.Signal(Native.SigKill);
                }
            }
        };
    }

    protected ServerProcess(string name)
    {
        Port = FreePort();
        Directory = TestPaths.NewDirectory(name);
    }

    public int Port { get; }
    public string Directory { get; }
    public bool IsRunning => _process is { HasExited: false };

    protected abstract ProcessStartInfo StartInfo();
    protected abstract Task<bool> AnswersAsync(CancellationToken cancellationToken);
    protected virtual int StopSignal => Native.SigTerm;

    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }
        var info = StartInfo();
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        lock (Running)
        {
            Running.Add(this);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await AnswersAsync(timeout.Token))
        {
            if (process.HasExited || timeout.IsCancellationRequested)
            {
                throw new InvalidOperationException($"{GetType().Name} did not start on port {Port}:\n{Output}");
            }
            await Task.Delay(100, CancellationToken.None);
        }
    }

    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }
        Signal(StopSignal);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Signal(Native.SigKill);
            await process.WaitForExitAsync(CancellationToken.None);
        }
        process.Dispose();
        _process = null;
        lock (Running)
        {
            Running.Remove(this);
        }
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public virtual async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Signal(int signal)
    {
        if (_process is { HasExited: false } process)
        {
            _ = Native.Kill(process.Id, signal);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            if (_output.Length < 64 * 1024)
            {
                _output.AppendLine(line);
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
