using System.Diagnostics;
using System.Globalization;

namespace Quartet.Stack;

/// <summary>
/// One long-running server (PostgreSQL, Redis, nginx, the backend). Its pid is kept in
/// <c>&lt;run&gt;/&lt;name&gt;.pid</c> and everything it prints goes to <c>&lt;logs&gt;/&lt;name&gt;.log</c>, so a
/// later `./quartet status` or `down` finds it again. Started <see cref="Detached"/> it outlives the
/// caller (`./quartet up`); otherwise it belongs to the calling process and is killed when that exits
/// (the test suites).
/// </summary>
public abstract class ServerProcess : IAsyncDisposable
{
    private static readonly List<ServerProcess> Owned = [];
    private Process? _process;

    static ServerProcess()
    {
        // A test host that ends without disposing a server does not leave it running.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            lock (Owned)
            {
                foreach (var server in Owned)
                {
                    if (server.Pid is { } pid)
                    {
                        Native.Signal(pid, Native.SigKill);
                    }
                }
            }
        };
    }

    protected ServerProcess(string name, int port, string runDirectory, string logDirectory)
    {
        Name = name;
        Port = port;
        PidFile = Path.Combine(runDirectory, name + ".pid");
        LogFile = Path.Combine(logDirectory, name + ".log");
    }

    public string Name { get; }
    public int Port { get; }
    public string PidFile { get; }
    public string LogFile { get; }

    /// <summary>Started with setsid: survives the caller.</summary>
    public bool Detached { get; init; }

    /// <summary>How long the server may take to answer after it starts.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a starting server is asked whether it answers; shorter when its start time is measured.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    protected abstract Command StartCommand();

    /// <summary>The server answers its clients (not only that the process runs).</summary>
    public abstract Task<bool> AnswersAsync(CancellationToken cancellationToken);

    /// <summary>A word of the server's command line, so a pid reused by another program is not taken for it.</summary>
    protected abstract string CommandLineMarker { get; }

    protected virtual int StopSignal => Native.SigTerm;

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    /// <summary>An HTTP GET of <paramref name="url"/> answers 2xx.</summary>
    protected static async Task<bool> AnswersHttpAsync(Uri url, CancellationToken cancellationToken, string? host = null)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Host = host;
            using var response = await Http.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>Frees the port from what a crashed earlier run of this server left listening on it; nothing by default.</summary>
    protected virtual Task ReleasePortAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Work before each start (writing a config file, say).</summary>
    protected virtual Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The live pid of this server, or null.</summary>
    public int? Pid
    {
        get
        {
            string text;
            try
            {
                text = File.ReadAllText(PidFile).Trim();
            }
            catch (IOException)
            {
                return null;
            }
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Native.IsAlive(pid)
                && Native.CommandLine(pid).Contains(CommandLineMarker, StringComparison.Ordinal)
                ? pid
                : null;
        }
    }

    public bool IsRunning => Pid is not null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (IsRunning)
        {
            await WaitUntilAnswersAsync(cancellationToken);
            return;
        }
        await ReleasePortAsync(cancellationToken);
        if (Port > 0 && Ports.InUse(Port))
        {
            var holders = string.Join(", ", Native.ListenersOn(Port).Select(pid => $"pid {pid}: {Native.CommandLine(pid).Trim()}"));
            throw new StackException($"port {Port} is already in use by another process{(holders.Length > 0 ? $" ({holders})" : "")}; {PortAdvice}");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(PidFile)!);
        Directory.CreateDirectory(Path.GetDirectoryName(LogFile)!);
        await PrepareAsync(cancellationToken);
        File.Delete(PidFile);
        await File.AppendAllTextAsync(LogFile, $"==== {DateTimeOffset.UtcNow:O} start {Name} ====\n", cancellationToken);

        // The shell records its own pid, then becomes the server (exec keeps the pid), with its
        // output appended to the log; paths travel as arguments, so spaces in them are safe.
        var command = StartCommand();
        var wrapper = command with
        {
            Program = "/bin/sh",
            Arguments = ["-c", "pid=$1; log=$2; shift 2; echo $$ >\"$pid\"; exec \"$@\" </dev/null >>\"$log\" 2>&1", "sh", PidFile, LogFile, .. command.Argv()],
            User = null,
        };
        var process = Process.Start(wrapper.StartInfo(Detached ? ["setsid"] : null))
            ?? throw new StackException($"could not start {Name}");
        if (Detached)
        {
            // setsid execs in place when this process is not a group leader, so the pid is the server's.
            process.Dispose();
        }
        else
        {
            _process = process;
            lock (Owned)
            {
                Owned.Add(this);
            }
        }

        try
        {
            await WaitUntilAnswersAsync(cancellationToken);
        }
        catch (StackException)
        {
            await StopAsync(CancellationToken.None);
            throw;
        }
    }

    protected virtual string PortAdvice => "choose another port";

    public async Task WaitUntilAnswersAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var seenPid = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var running = IsRunning;
            seenPid |= running;
            if (running && await AnswersAsync(cancellationToken))
            {
                return;
            }
            if (!running && (seenPid || deadline.Elapsed > TimeSpan.FromSeconds(10)))
            {
                throw new StackException($"{Name} exited during start-up; see {LogFile}\n{LogTail(15)}");
            }
            if (deadline.Elapsed > StartTimeout)
            {
                throw new StackException($"{Name} did not answer on port {Port} within {StartTimeout.TotalSeconds:0} s; see {LogFile}\n{LogTail(15)}");
            }
            await Task.Delay(ProbeInterval, cancellationToken);
        }
    }

    /// <summary>Stops the server (its own clean shutdown, SIGKILL after 30 s); nothing happens when it is not running.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Pid is { } pid)
        {
            Native.Signal(pid, StopSignal);
            if (!await WaitGoneAsync(pid, TimeSpan.FromSeconds(30), cancellationToken))
            {
                Native.Signal(pid, Native.SigKill);
                await WaitGoneAsync(pid, TimeSpan.FromSeconds(10), cancellationToken);
            }
            Forget(pid);
        }
        else
        {
            Forget(null);
        }
    }

    /// <summary>kill -9, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (Pid is { } pid)
        {
            Native.Signal(pid, Native.SigKill);
            await WaitGoneAsync(pid, TimeSpan.FromSeconds(10), CancellationToken.None);
            Forget(pid);
        }
        else
        {
            Forget(null);
        }
    }

    /// <summary>
    /// Drops what is known of the stopped process. The pid file goes only if it still names that process:
    /// a supervisor may already have started the server again and written the new one.
    /// </summary>
    private void Forget(int? stopped)
    {
        _process?.Dispose();
        _process = null;
        lock (Owned)
        {
            Owned.Remove(this);
        }
        string recorded;
        try
        {
            recorded = File.ReadAllText(PidFile).Trim();
        }
        catch (IOException)
        {
            return;
        }
        if (stopped is null || recorded == stopped.Value.ToString(CultureInfo.InvariantCulture))
        {
            File.Delete(PidFile);
        }
    }

    private static async Task<bool> WaitGoneAsync(int pid, TimeSpan limit, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (Native.IsAlive(pid))
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }
            await Task.Delay(50, cancellationToken);
        }
        return true;
    }

    /// <summary>Everything the server printed since its last start (bounded to the last 256 KiB).</summary>
    public string Output
    {
        get
        {
            var text = ReadLog();
            var start = text.LastIndexOf($"start {Name} ====\n", StringComparison.Ordinal);
            return start < 0 ? text : text[(start + Name.Length + 12)..];
        }
    }

    public string LogTail(int lines) => string.Join('\n', ReadLog().Split('\n').TakeLast(lines));

    private string ReadLog()
    {
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(Math.Max(0, stream.Length - 256 * 1024), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return "";
        }
    }

    public virtual async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        GC.SuppressFinalize(this);
    }
}
