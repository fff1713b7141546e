using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Quartet.Stack;

/// <summary>
/// A redis-server on 127.0.0.1 only, with a memory limit and its eviction policy. By default it is a
/// state instance (append-only persistence, fsync every second, nothing ever evicted); a cache
/// instance keeps nothing on disk and evicts the least recently used keys (decision 0015). The
/// `default` user is off: clients log in as <see cref="User"/>, who may touch only keys under
/// <see cref="KeyPrefix"/> and run only the commands in deploy/redis/quartet.acl. The settings are
/// written to a config file readable by the server alone, holding a SHA-256 of the password, never
/// the password itself. As root it runs as the redis system account.
/// </summary>
public sealed class RedisServer(string dataDirectory, int port, string password, string runDirectory, string logDirectory, string name = "redis")
    : ServerProcess(name, port, runDirectory, logDirectory)
{
    public const string AppUser = "quartet";
    public const string AdminUser = "quartet-admin";

    public string DataDirectory { get; } = dataDirectory;
    /// <summary>The password of <see cref="User"/>.</summary>
    public string Password { get; } = password;
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>The ACL user the backend logs in as.</summary>
    public string User { get; init; } = AppUser;

    /// <summary>The only keys <see cref="User"/> may touch are those starting with this.</summary>
    public string KeyPrefix { get; init; } = "quartet:";

    /// <summary>The user's command rules (<see cref="RedisAcl.Load"/>).</summary>
    public required string AclRules { get; init; }

    /// <summary>
    /// When set, a second user with every right (<see cref="AdminUser"/>) for the test harness, which
    /// counts clients, watches commands and changes limits. Native and compose stacks have none.
    /// </summary>
    public string? AdminPassword { get; init; }

    /// <summary>maxmemory, in Redis's units ("256mb").</summary>
    public string MaxMemory { get; init; } = "256mb";

    /// <summary>A cache: allkeys-lru and no persistence. Otherwise state: noeviction and AOF.</summary>
    public bool IsCache { get; init; }

    /// <summary>Append-only persistence; off only to load a snapshot (<see cref="RestoreSnapshotAsync"/>).</summary>
    public bool AppendOnly { get; init; } = true;

    /// <summary>The snapshot file BGSAVE writes.</summary>
    public string SnapshotFile => Path.Combine(DataDirectory, "dump.rdb");

    protected override string CommandLineMarker => "redis-server";
    protected override string PortAdvice => IsCache ? "set QUARTET_REDIS_CACHE_PORT to a free port" : "set QUARTET_REDIS_PORT to a free port";
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
            .AppendLine("save \"\"")
            .AppendLine(IsCache || !AppendOnly ? "appendonly no" : "appendonly yes")
            .AppendLine("appendfsync everysec")
            .AppendLine(CultureInfo.InvariantCulture, $"maxmemory {MaxMemory}")
            .AppendLine(IsCache ? "maxmemory-policy allkeys-lru" : "maxmemory-policy noeviction")
            // Off, so nobody can log in as default; but with every right, because Redis 7.0 replays the
            // AOF's MULTI/EXEC (each script's writes) as the default user and drops an EXEC that user may
            // not run: with -@all, every session would be lost at restart.
            .AppendLine("user default off resetpass ~* &* +@all")
            .AppendLine(CultureInfo.InvariantCulture, $"user {User} on {RedisAcl.UserRules(Password, KeyPrefix, AclRules)}");
        if (AdminPassword is not null)
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"user {AdminUser} on #{RedisAcl.Sha256(AdminPassword)} ~* &* +@all");
        }
        await File.WriteAllTextAsync(ConfigFile, config.ToString(), cancellationToken);
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
    /// <param name="snapshot">The RDB file to load.</param>
    /// <param name="cancellationToken">Stops the waiting.</param>
    /// <param name="whileLoaded">Run against the loaded data before it is written out (as the administrator).</param>
    public async Task RestoreSnapshotAsync(string snapshot, CancellationToken cancellationToken, Func<RedisServer, Task>? whileLoaded = null)
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
        // The same server (name, port, users), but without AOF; it needs the administrator for CONFIG.
        await using var loader = new RedisServer(DataDirectory, Port, Password, Path.GetDirectoryName(PidFile)!, Path.GetDirectoryName(LogFile)!, Name)
        {
            AppendOnly = false,
            User = User,
            KeyPrefix = KeyPrefix,
            AclRules = AclRules,
            AdminPassword = AdminPassword ?? Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)),
            MaxMemory = MaxMemory,
        };
        await loader.StartAsync(cancellationToken);
        if (whileLoaded is not null)
        {
            await whileLoaded(loader);
        }
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

    /// <summary>The user redis-cli logs in as: the administrator when there is one, else the app's user.</summary>
    public (string User, string Password) CliLogin => AdminPassword is { } admin ? (AdminUser, admin) : (User, Password);

    /// <summary>Runs one command through redis-cli (the password travels in REDISCLI_AUTH) and returns its output.</summary>
    public async Task<string> CommandAsync(CancellationToken cancellationToken, params string[] command) =>
        (await RunCliAsync(CliLogin.User, CliLogin.Password, command, cancellationToken)).Output.Trim();

    public Task<string> CommandAsync(params string[] command) => CommandAsync(CancellationToken.None, command);

    /// <summary>One command as the given user, its output and errors together: to check what a user may and may not do.</summary>
    public async Task<string> CommandAsAsync(string user, string password, params string[] command)
    {
        var result = await RunCliAsync(user, password, command, CancellationToken.None);
        return (result.Output + result.Error).Trim();
    }

    private Task<CommandResult> RunCliAsync(string user, string password, string[] command, CancellationToken cancellationToken)
    {
        var cli = new Command(Tools.RedisCli(), ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "--user", user, "--no-auth-warning", .. command])
        {
            Environment = new Dictionary<string, string?> { ["REDISCLI_AUTH"] = password },
        };
        return CommandRunner.RunAsync(cli, cancellationToken, timeout: TimeSpan.FromSeconds(30));
    }

    protected override int StopSignal => Native.SigTerm; // Redis flushes the AOF and exits
}

/// <summary>The rules of Quartet's Redis user, from deploy/redis/quartet.acl (shared with compose.yaml).</summary>
public static class RedisAcl
{
    public static string FileIn(string root) => Path.Combine(root, "deploy", "redis", "quartet.acl");

    /// <summary>The file's rules on one line, comments left out.</summary>
    public static string Load(string root)
    {
        var file = FileIn(root);
        if (!File.Exists(file))
        {
            throw new StackException($"{file} is missing: it lists the commands Quartet's Redis user may run");
        }
        return string.Join(' ', File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')));
    }

    /// <summary>Everything after `user NAME on`: the password's hash, the key pattern, no channels, the commands.</summary>
    public static string UserRules(string password, string keyPrefix, string rules) =>
        $"#{Sha256(password)} resetkeys ~{keyPrefix}* resetchannels {rules}";

    public static string Sha256(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
