using System.Globalization;
using System.Text;

namespace Quartet.Stack;

/// <summary>
/// A redis-server with a password and append-only persistence (fsync every second), on 127.0.0.1
/// only. Its settings are written to a config file readable by the server alone, so the password
/// never shows in a process listing. As root it runs as the redis system account.
/// </summary>
public sealed class RedisServer(string dataDirectory, int port, string password, string runDirectory, string logDirectory)
    : ServerProcess("redis", port, runDirectory, logDirectory)
{
    public string DataDirectory { get; } = dataDirectory;
    public string Password { get; } = password;
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Append-only persistence; off only to load a snapshot (<see cref="RestoreSnapshotAsync"/>).</summary>
    public bool AppendOnly { get; init; } = true;

    /// <summary>The snapshot file BGSAVE writes.</summary>
    public string SnapshotFile => Path.Combine(DataDirectory, "dump.rdb");

    protected override string CommandLineMarker => "redis-server";
    protected override string PortAdvice => "set QUARTET_REDIS_PORT to a free port";
    private string ConfigFile => Path.Combine(DataDirectory, "redis.conf");

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await ServiceUsers.EnsureAsync(ServiceUsers.Redis, cancellationToken);
        Directory.CreateDirectory(DataDirectory);
        File.SetUnixFileMode(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var config = new StringBuilder()
            .AppendLine("# Written at every start; edits are lost.")
            .AppendLine("bind 127.0.0.1")
            .AppendLine(CultureInfo.InvariantCulture, $"port {Port}")
            .AppendLine("protected-mode yes")
            .AppendLine("daemonize no")
            .AppendLine("logfile \"\"")
            .AppendLine(CultureInfo.InvariantCulture, $"dir {Quote(DataDirectory)}")
            .AppendLine(CultureInfo.InvariantCulture, $"requirepass {Quote(Password)}")
            .AppendLine("save \"\"")
            .AppendLine(AppendOnly ? "appendonly yes" : "appendonly no")
            .AppendLine("appendfsync everysec")
            .ToString();
        await File.WriteAllTextAsync(ConfigFile, config, cancellationToken);
        File.SetUnixFileMode(ConfigFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await ServiceUsers.GiveAsync(DataDirectory, ServiceUsers.Redis, cancellationToken);
    }

    /// <summary>
    /// A consistent snapshot of the data set copied to <paramref name="destination"/>: BGSAVE, then wait until
    /// the save it started has finished and succeeded.
    /// </summary>
    public async Task SnapshotAsync(string destination, CancellationToken cancellationToken)
    {
        var before = long.Parse(await InfoFieldAsync("rdb_last_save_time", cancellationToken), CultureInfo.InvariantCulture);
        var started = DateTimeOffset.UtcNow;
        while (true)
        {
            var reply = await CommandAsync(cancellationToken, "BGSAVE");
            if (reply.StartsWith("Background saving started", StringComparison.Ordinal))
            {
                break;
            }
            // Another save (or an AOF rewrite) is running: wait for it, then ask for ours.
            if (DateTimeOffset.UtcNow - started > TimeSpan.FromMinutes(10))
            {
                throw new StackException($"redis refused BGSAVE for 10 minutes: {reply}");
            }
            await Task.Delay(200, cancellationToken);
        }
        while (await InfoFieldAsync("rdb_bgsave_in_progress", cancellationToken) != "0"
            || long.Parse(await InfoFieldAsync("rdb_last_save_time", cancellationToken), CultureInfo.InvariantCulture) < before)
        {
            await Task.Delay(100, cancellationToken);
        }
        if (await InfoFieldAsync("rdb_last_bgsave_status", cancellationToken) != "ok")
        {
            throw new StackException($"redis could not write its snapshot; see {LogFile}\n{LogTail(10)}");
        }
        File.Copy(SnapshotFile, destination, overwrite: true);
    }

    /// <summary>
    /// Replaces the (stopped) server's data with a snapshot: Redis 7 ignores a snapshot when append-only
    /// persistence is on and no AOF exists, so the snapshot is loaded with it off, then turned on (which
    /// writes a new AOF from the loaded data) before the server stops again.
    /// </summary>
    public async Task RestoreSnapshotAsync(string snapshot, CancellationToken cancellationToken)
    {
        if (IsRunning)
        {
            throw new StackException("redis is running; stop it before restoring a snapshot");
        }
        var aof = Path.Combine(DataDirectory, "appendonlydir");
        if (Directory.Exists(aof))
        {
            Directory.Delete(aof, recursive: true);
        }
        Directory.CreateDirectory(DataDirectory);
        File.Copy(snapshot, SnapshotFile, overwrite: true);
        await using var loader = new RedisServer(DataDirectory, Port, Password, Path.GetDirectoryName(PidFile)!, Path.GetDirectoryName(LogFile)!)
        {
            AppendOnly = false,
        };
        await loader.StartAsync(cancellationToken);
        await loader.CommandAsync(cancellationToken, "CONFIG", "SET", "appendonly", "yes");
        while (await loader.InfoFieldAsync("aof_rewrite_in_progress", cancellationToken) != "0"
            || await loader.InfoFieldAsync("aof_rewrite_scheduled", cancellationToken) != "0")
        {
            await Task.Delay(100, cancellationToken);
        }
        if (await loader.InfoFieldAsync("aof_last_bgrewrite_status", cancellationToken) != "ok")
        {
            throw new StackException($"redis could not write its AOF from the snapshot; see {LogFile}");
        }
        await loader.StopAsync(cancellationToken);
    }

    private async Task<string> InfoFieldAsync(string field, CancellationToken cancellationToken)
    {
        var info = await CommandAsync(cancellationToken, "INFO", "persistence");
        foreach (var line in info.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return trimmed[(field.Length + 1)..];
            }
        }
        throw new StackException($"redis INFO has no {field}");
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    protected override Command StartCommand() =>
        new(Tools.RedisServer(), [ConfigFile]) { User = ServiceUsers.For(ServiceUsers.Redis) };

    public override async Task<bool> AnswersAsync(CancellationToken cancellationToken) =>
        await CommandAsync(cancellationToken, "PING") == "PONG";

    /// <summary>Runs one command through redis-cli (the password travels in REDISCLI_AUTH) and returns its output.</summary>
    public async Task<string> CommandAsync(CancellationToken cancellationToken, params string[] command)
    {
        var cli = new Command(Tools.RedisCli(), ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), .. command])
        {
            Environment = new Dictionary<string, string?> { ["REDISCLI_AUTH"] = Password },
        };
        var result = await CommandRunner.RunAsync(cli, cancellationToken, timeout: TimeSpan.FromSeconds(30));
        return result.Output.Trim();
    }

    public Task<string> CommandAsync(params string[] command) => CommandAsync(CancellationToken.None, command);

    protected override int StopSignal => Native.SigTerm; // Redis flushes the AOF and exits
}
