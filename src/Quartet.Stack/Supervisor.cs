using System.Diagnostics;
using Npgsql;
using Quartet.Stack.Backups;

namespace Quartet.Stack;

/// <summary>
/// The restart behaviour compose gives its services (`restart: unless-stopped`), for the native stack:
/// every server that should run and does not is started again, after the servers it needs, with a
/// growing pause (1 s doubling up to 30 s) while it keeps failing. `./quartet up` runs it as a process
/// of its own (<see cref="SupervisorProcess"/>); `./quartet down` stops it before the servers.
/// With a <see cref="Schedule"/> it also takes the backups and runs the restore drills on time, as
/// compose's backup service does for compose.
/// </summary>
public sealed class Supervisor(NativeStack stack, Action<string> say)
{
    public static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(30);

    /// <summary>How often each server is looked at.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>When to back up and drill; off unless given (`./quartet supervise` reads it from the environment).</summary>
    public BackupSchedule Schedule { get; init; } = BackupSchedule.Off;

    /// <summary>How often the schedule is looked at.</summary>
    public TimeSpan ScheduleCheck { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Restarts done since this supervisor started, per server.</summary>
    public IReadOnlyDictionary<string, int> Restarts => _restarts;

    private readonly Dictionary<string, int> _restarts = [];

    public Task RunAsync(CancellationToken cancellationToken)
    {
        say($"supervising {string.Join(", ", Watched().Select(w => w.Server.Name))}; {Schedule}");
        var watches = Watched().Select(w => WatchAsync(w.Server, w.Needs, cancellationToken));
        return Task.WhenAll(Schedule.IsOff ? watches : [.. watches, ScheduleAsync(cancellationToken)]);
    }

    private IEnumerable<(ServerProcess Server, ServerProcess[] Needs)> Watched() =>
    [
        (stack.Postgres, []),
        (stack.Redis, []),
        (stack.RedisCache, []),
        (stack.Mail, []),
        (stack.Backend, [stack.Postgres, stack.Redis]),
        (stack.Nginx, [stack.Backend]),
    ];

    private async Task WatchAsync(ServerProcess server, ServerProcess[] needs, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, cancellationToken);
                if (server.IsRunning || needs.Any(n => !n.IsRunning))
                {
                    continue;
                }
                say($"{server.Name} is not running; starting it again");
                var clock = Stopwatch.StartNew();
                await server.StartAsync(cancellationToken);
                lock (_restarts)
                {
                    _restarts[server.Name] = _restarts.GetValueOrDefault(server.Name) + 1;
                }
                say($"{server.Name} answers again (pid {server.Pid}) after {clock.Elapsed.TotalSeconds:0.0} s");
                failures = 0;
            }
            catch (StackException e)
            {
                failures++;
                var pause = TimeSpan.FromSeconds(Math.Min(MaxPause.TotalSeconds, Math.Pow(2, failures - 1)));
                say($"{server.Name} did not start ({e.Message.Split('\n')[0]}); next try in {pause.TotalSeconds:0} s");
                await Task.Delay(pause, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Runs a backup, then a drill, when backup_status says each is due. The time comes from the
    /// database, not from this process, so a restart of the supervisor neither skips nor repeats one.
    /// </summary>
    private async Task ScheduleAsync(CancellationToken cancellationToken)
    {
        var retryAt = new Dictionary<string, DateTimeOffset>();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(ScheduleCheck, cancellationToken);
                if (!stack.Postgres.IsRunning || !stack.Redis.IsRunning)
                {
                    continue;
                }
                var last = await BackupStatus.ReadAsync(stack.Postgres.ConnectionString(NativeStack.Database, pooling: false), cancellationToken);
                foreach (var (kind, interval) in ((string, TimeSpan?)[])[(BackupStatus.Backup, Schedule.Backup), (BackupStatus.Drill, Schedule.Drill)])
                {
                    var now = DateTimeOffset.UtcNow;
                    if (interval is not { } every || (last.TryGetValue(kind, out var at) && now - at < every)
                        || (retryAt.TryGetValue(kind, out var retry) && now < retry))
                    {
                        continue;
                    }
                    say($"{kind} due (last success: {(last.TryGetValue(kind, out var previous) ? previous.ToString("O") : "never")})");
                    try
                    {
                        if (kind == BackupStatus.Backup)
                        {
                            await new StackBackups(stack, say).TakeAsync(cancellationToken);
                        }
                        else
                        {
                            await new RestoreDrill(stack, say).RunAsync(cancellationToken);
                        }
                        retryAt.Remove(kind);
                    }
                    catch (StackException e)
                    {
                        var pause = every < BackupSchedule.RetryAfter ? every : BackupSchedule.RetryAfter;
                        retryAt[kind] = DateTimeOffset.UtcNow + pause;
                        say($"scheduled {kind} failed: {e.Message.Split('\n')[0]}; next try in {pause.TotalMinutes:0} min");
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                say($"schedule: backup_status could not be read ({e.Message.Split('\n')[0]}); looking again in {ScheduleCheck.TotalSeconds:0} s");
            }
        }
    }
}

/// <summary>The supervisor as a detached process: the quartet CLI, copied into the run folder so a rebuild cannot change it underneath, running `supervise`.</summary>
public sealed class SupervisorProcess(StackLayout layout, string cliAssembly) : ServerProcess("supervisor", 0, layout.RunDirectory, layout.LogDirectory)
{
    private string Copy => Path.Combine(layout.RunDirectory, "supervisor-cli");

    protected override string CommandLineMarker => "supervise";

    protected override Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (Directory.Exists(Copy))
        {
            Directory.Delete(Copy, recursive: true);
        }
        Directory.CreateDirectory(Copy);
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(cliAssembly)!))
        {
            File.Copy(file, Path.Combine(Copy, Path.GetFileName(file)));
        }
        return Task.CompletedTask;
    }

    protected override Command StartCommand() => new("dotnet", [Path.Combine(Copy, Path.GetFileName(cliAssembly)), "supervise"])
    {
        Environment = new Dictionary<string, string?> { ["QUARTET_ROOT"] = layout.Root },
    };

    public override Task<bool> AnswersAsync(CancellationToken cancellationToken) => Task.FromResult(IsRunning);
}
