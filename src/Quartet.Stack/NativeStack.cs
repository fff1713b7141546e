using System.Runtime.InteropServices;
using System.Text.Json;
using Quartet.Stack.Backups;

namespace Quartet.Stack;

/// <summary>
/// The whole stack as local processes: PostgreSQL, Redis, the development mail catcher, the backend
/// and nginx, started in the order compose starts them (databases answering, migrations applied,
/// backend ready, then nginx).
/// `./quartet up/down/status/migrate` in native mode, and the end-to-end tests' private stack.
/// </summary>
public sealed class NativeStack
{
    private readonly Action<string> _say;

    /// <param name="layout">Where the stack keeps its state and data.</param>
    /// <param name="settings">Ports, names and options.</param>
    /// <param name="say">Where progress lines go.</param>
    /// <param name="detached">Whether started servers outlive this process.</param>
    /// <param name="backups">The backup folder; by default <see cref="BackupLayout.For"/> (QUARTET_BACKUP_DIR).</param>
    public NativeStack(StackLayout layout, StackSettings settings, Action<string> say, bool detached = true, BackupLayout? backups = null)
    {
        Layout = layout;
        Settings = settings;
        Detached = detached;
        _say = say;
        Secrets = new DevelopmentSecrets(layout);
        BackupLayout = backups ?? BackupLayout.For(layout);
        Postgres = new PostgresServer(layout.PostgresData, settings.PostgresPort, Secrets.Read("db_password"), layout.RunDirectory, layout.LogDirectory)
        {
            Detached = detached,
            SocketDirectory = PostgresServer.SocketDirectoryFor(layout.PostgresData),
            // Room for the backend's pool (50), a second backend or the comparison service that
            // `./quartet bench` starts beside it, migrate and psql. Every WAL segment goes to the backup repository.
            Settings = new Dictionary<string, string>(PgBackRest.ServerSettings(BackupLayout)) { ["max_connections"] = "200" },
            Environment = PostgresEnvironment(),
        };
        Redis = NewRedis(cache: false, detached);
        RedisCache = NewRedis(cache: true, detached);
        Mail = new MailCatcher(Path.Combine(layout.Root, "deploy", "maildev"), Path.Combine(layout.DataDirectory, "maildev"),
            settings.MailSmtpPort, settings.MailWebPort, layout.RunDirectory, layout.LogDirectory) { Detached = detached };
        Backend = new BackendServer(layout.AppAssembly, BackendEnvironment(), settings.BackendPort, layout.RunDirectory, layout.LogDirectory) { Detached = detached };
        Nginx = new NginxServer(layout.NginxDirectory, settings.HttpPort, $"127.0.0.1:{settings.BackendPort}", layout.NginxTemplate, layout.RunDirectory, layout.LogDirectory)
        {
            Detached = detached,
            ProbePath = "health/ready",
            TrustedProxies = settings.TrustedProxies,
            ServerNames = settings.ServerNames,
        };
    }

    public StackLayout Layout { get; }

    /// <summary>Servers started by this stack outlive the caller (`./quartet up`), rather than belonging to it (tests).</summary>
    public bool Detached { get; }

    /// <summary>The quartet CLI's assembly, which `up` runs as the supervisor; null where there is none (tests).</summary>
    public string? SupervisorAssembly { get; init; }

    private SupervisorProcess Supervisor => new(Layout, SupervisorAssembly ?? "quartet.dll");
    public StackSettings Settings { get; }
    public DevelopmentSecrets Secrets { get; }
    public BackupLayout BackupLayout { get; }
    public PgBackRest PgBackRest => new(BackupLayout, Postgres, RetentionPolicy.FromEnvironment().Daily) { Encryption = BackupEncryption };

    /// <summary>
    /// The backups' encryption (QUARTET_BACKUP_ENCRYPTION), null when off. Decrypted copies are made in the
    /// state folder's tmp/, which belongs to the operator, never in the backup folder that is copied elsewhere.
    /// </summary>
    public BackupEncryption? BackupEncryption => Settings.EncryptBackups
        ? new BackupEncryption(Secrets.PathOf(DevelopmentSecrets.BackupPassphrase), Path.Combine(Layout.StateDirectory, "tmp"))
        : null;

    /// <summary>PostgreSQL's environment: the repository's passphrase for archive_command and restore_command, when encrypted.</summary>
    public IReadOnlyDictionary<string, string?> PostgresEnvironment() =>
        BackupEncryption is { HasPassphrase: true } encryption ? encryption.PgBackRestEnvironment() : new Dictionary<string, string?>();

    public PostgresServer Postgres { get; private set; }
    /// <summary>The state Redis: sessions, tokens, counters; noeviction and AOF (decision 0015).</summary>
    public RedisServer Redis { get; private set; }
    /// <summary>The cache Redis: the notes read cache only; allkeys-lru, nothing on disk.</summary>
    public RedisServer RedisCache { get; private set; }
    public MailCatcher Mail { get; }
    public BackendServer Backend { get; }
    public NginxServer Nginx { get; }

    public const string Database = "quartet";

    /// <summary>The environment of the backend and migrate processes, and only theirs.</summary>
    /// <summary>
    /// The environment of a second backend beside the stack's own (a benchmark's): the same settings,
    /// with a metrics port of its own when the first one has one.
    /// </summary>
    public Dictionary<string, string?> SecondBackendEnvironment()
    {
        var environment = BackendEnvironment();
        if (environment.ContainsKey("Metrics__Port"))
        {
            environment["Metrics__Port"] = Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return environment;
    }

    public Dictionary<string, string?> BackendEnvironment()
    {
        var environment = BaseEnvironment();
        foreach (var (key, value) in Settings.BackendSettings)
        {
            environment[key] = value;
        }
        if (Settings.MetricsPort is { } metrics)
        {
            environment["Metrics__Port"] = metrics.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return environment;
    }

    private Dictionary<string, string?> BaseEnvironment() => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Development",
        ["Proxy__TrustedNetworks"] = "127.0.0.1/32,::1/128",
        // The names nginx serves, and the loopback ones its own readiness probe and tools use.
        ["AllowedHosts"] = $"{Settings.ServerNames} {NginxServer.DefaultServerNames}",
        ["Database__Host"] = "127.0.0.1",
        ["Database__Port"] = Settings.PostgresPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Database__Name"] = Database,
        ["Database__Username"] = "quartet_app",
        ["Database__OwnerUsername"] = "quartet_owner",
        ["Database__SuperUsername"] = PostgresServer.Superuser,
        ["Redis__Endpoint"] = $"127.0.0.1:{Settings.RedisPort}",
        ["Redis__CacheEndpoint"] = $"127.0.0.1:{Settings.RedisCachePort}",
        ["DB_APP_PASSWORD_FILE"] = Secrets.PathOf("db_app_password"),
        ["REDIS_PASSWORD_FILE"] = Secrets.PathOf("redis_password"),
        ["SESSION_SECRET_FILE"] = Secrets.PathOf("session_secret"),
        ["JWT_SECRET_FILE"] = Secrets.PathOf("jwt_secret"),
        ["ADMIN_PASSWORD_HASH_FILE"] = Secrets.PathOf("admin_password_hash"),
        ["ADMIN_EMAIL"] = Settings.AdminEmail,
        // The development mail catcher; production refuses these settings.
        ["Mail__SmtpHost"] = "127.0.0.1",
        ["Mail__SmtpPort"] = Settings.MailSmtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Mail__Security"] = "None",
        ["Mail__From"] = "Quartet <no-reply@quartet.localhost>",
        ["Mail__LinkBaseUrl"] = Settings.PublicUrl.ToString(),
    };

    /// <summary>
    /// The backend's environment and, for migrate only, the superuser's and the schema owner's passwords:
    /// the serving backend is never told where they are (decision 0020).
    /// </summary>
    public Dictionary<string, string?> MigrateEnvironment()
    {
        var environment = BackendEnvironment();
        environment["DB_PASSWORD_FILE"] = Secrets.PathOf("db_password");
        environment["DB_OWNER_PASSWORD_FILE"] = Secrets.PathOf("db_owner_password");
        return environment;
    }

    public async Task UpAsync(CancellationToken cancellationToken)
    {
        await PrepareAsync(cancellationToken);
        if (Mail.IsRunning)
        {
            _say($"mail catcher already running (pid {Mail.Pid})");
        }
        else
        {
            _say($"starting the mail catcher (maildev): SMTP on 127.0.0.1:{Mail.SmtpPort}, inbox on {Mail.InboxUrl} (log: {Mail.LogFile})");
            await Mail.StartAsync(cancellationToken);
        }
        if (Backend.IsRunning)
        {
            _say($"backend already running (pid {Backend.Pid})");
            await Backend.WaitUntilAnswersAsync(cancellationToken);
        }
        else
        {
            await MigrateOnlyAsync(cancellationToken);
            _say($"starting the backend on {Backend.BaseAddress} (log: {Backend.LogFile})");
            await Backend.StartAsync(cancellationToken);
        }
        await new WebBuild(Layout, _say).EnsureAsync(cancellationToken);
        await Nginx.PublishWebRootAsync(Path.Combine(Layout.WebDirectory, "dist"), cancellationToken);
        if (Nginx.IsRunning)
        {
            _say($"nginx already running (pid {Nginx.Pid}); reloading its configuration");
            await Nginx.ReloadAsync(cancellationToken);
        }
        else
        {
            _say($"starting nginx on {Settings.PublicUrl} (serving {Nginx.WebRoot})");
            await Nginx.StartAsync(cancellationToken);
        }
        if (Detached && SupervisorAssembly is { } cli)
        {
            var supervisor = new SupervisorProcess(Layout, cli) { Detached = true };
            if (!supervisor.IsRunning)
            {
                await supervisor.StartAsync(cancellationToken);
            }
            _say($"supervisor running (pid {supervisor.Pid}): a server that stops is started again (log: {supervisor.LogFile})");
        }
        if (Settings.MetricsPort is { } metrics)
        {
            _say($"backend metrics (Prometheus) at http://127.0.0.1:{metrics}/metrics");
        }
        _say($"dev admin: {Settings.AdminEmail}, password in {Secrets.PathOf("admin_password")}");
        _say($"mail inbox at {Settings.MailUrl} (every mail the app sends lands here)");
        _say($"ready at {Settings.PublicUrl}");
    }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await PrepareAsync(cancellationToken);
        await MigrateOnlyAsync(cancellationToken);
        _say("migrations done");
    }

    public async Task DownAsync(CancellationToken cancellationToken)
    {
        // The supervisor first, or it would start again what is being stopped.
        foreach (var server in (ServerProcess[])[Supervisor, Nginx, Backend, Mail, RedisCache, Redis, Postgres])
        {
            if (server.Pid is { } pid)
            {
                _say($"stopping {server.Name} (pid {pid})");
                await server.StopAsync(cancellationToken);
            }
            else
            {
                _say($"{server.Name} not running");
            }
        }
        _say($"stopped (data kept in {Layout.DataDirectory})");
    }

    public IEnumerable<string> Status() =>
        ((ServerProcess[])[Nginx, Backend, Postgres, Redis, RedisCache, Mail, Supervisor]).Select(s => s.Pid is { } pid
            ? $"{s.Name,-11} running (pid {pid}{(s.Port > 0 ? $", port {s.Port}" : "")})"
            : $"{s.Name,-11} stopped{(s.Port > 0 ? $" (port {s.Port})" : "")}");

    /// <summary>The backend published into the state folder, unless it is current.</summary>
    public Task PublishAsync(CancellationToken cancellationToken)
    {
        Layout.Create();
        return new BackendPublish(Layout, _say).EnsureAsync(Backend.IsRunning, cancellationToken);
    }

    /// <summary>The published backend, the secrets, PostgreSQL with its database, and Redis.</summary>
    private async Task PrepareAsync(CancellationToken cancellationToken)
    {
        Layout.Create();
        if (Layout.DataDirectory != Layout.StateDirectory)
        {
            _say($"servers' data in {Layout.DataDirectory} (running as root: the service accounts own it)");
        }
        await PublishAsync(cancellationToken);
        var created = await Secrets.EnsureAsync(cancellationToken);
        if (created.Count > 0)
        {
            _say($"created development secrets in {Layout.SecretsDirectory}: {string.Join(' ', created)}");
        }
        if (BackupEncryption is { HasPassphrase: false } encryption)
        {
            PgBackRest.CheckCipher();
            // A repository encrypted already needs its own passphrase back; a new one would read nothing of it.
            if (PgBackRest.RepositoryEncrypted() is true)
            {
                _ = encryption.Passphrase;
            }
            Secrets.EnsureBackupPassphrase();
            _say($"created {encryption.PassphraseFile}: the backups are encrypted with it and cannot be read without it; " +
                "keep a copy off this machine, apart from the backups");
        }
        // The servers read their passwords at construction: build them again with the secrets now present.
        Postgres = new PostgresServer(Postgres.DataDirectory, Postgres.Port, Secrets.Read("db_password"), Layout.RunDirectory, Layout.LogDirectory)
        {
            Detached = Postgres.Detached,
            SocketDirectory = Postgres.SocketDirectory,
            Settings = Postgres.Settings,
            Environment = PostgresEnvironment(),
        };
        Redis = NewRedis(cache: false, Redis.Detached);
        RedisCache = NewRedis(cache: true, RedisCache.Detached);

        if (!Postgres.IsInitialized)
        {
            _say($"initializing the PostgreSQL cluster in {Postgres.DataDirectory}");
            await Postgres.InitAsync(cancellationToken);
        }
        if (Postgres.IsRunning)
        {
            _say($"PostgreSQL already running (pid {Postgres.Pid})");
        }
        else
        {
            _say($"starting PostgreSQL on 127.0.0.1:{Postgres.Port}");
        }
        await PgBackRest.PrepareAsync(cancellationToken);
        CheckRunningPostgresEnvironment();
        await Postgres.StartAsync(cancellationToken);
        await PgBackRest.EnsureStanzaAsync(cancellationToken);
        try
        {
            await Postgres.EnsureDatabaseAsync(Database, cancellationToken);
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == "28P01")
        {
            throw new StackException($"PostgreSQL refused the password in {Secrets.PathOf("db_password")}: the cluster was made with another one");
        }
        _say(Redis.IsRunning ? $"Redis already running (pid {Redis.Pid})" : $"starting Redis on {Redis.Endpoint}");
        await Redis.StartAsync(cancellationToken);
        _say(RedisCache.IsRunning ? $"Redis cache already running (pid {RedisCache.Pid})" : $"starting the Redis cache on {RedisCache.Endpoint}");
        await RedisCache.StartAsync(cancellationToken);
    }

    /// <summary>
    /// A PostgreSQL that runs already keeps the environment it started with: started before
    /// QUARTET_BACKUP_ENCRYPTION was turned on (or off, or before the passphrase changed), its archive_command
    /// would fail on every WAL segment, and only its log would say so.
    /// </summary>
    private void CheckRunningPostgresEnvironment()
    {
        if (Postgres.Pid is not { } pid || Native.Environment(pid) is not { } environment)
        {
            return;
        }
        var prefix = BackupEncryption.PassphraseVariable + "=";
        var running = environment.FirstOrDefault(v => v.StartsWith(prefix, StringComparison.Ordinal));
        var expected = PostgresEnvironment().TryGetValue(BackupEncryption.PassphraseVariable, out var value) ? prefix + value : null;
        if (running == expected)
        {
            return;
        }
        var state = (running, expected) switch
        {
            (null, _) => $"without the backups' passphrase, which {BackupEncryption.Setting}=on needs to archive",
            (_, null) => $"with a backup passphrase while {BackupEncryption.Setting} is off",
            _ => $"with another backup passphrase than {DevelopmentSecrets.BackupPassphrase}",
        };
        throw new StackException($"PostgreSQL (pid {pid}) runs {state}: restart the stack (./quartet down, then ./quartet up)");
    }

    /// <summary>
    /// The state or the cache Redis, with the user the backend logs in as. Both take the one
    /// redis_password (read again once the secrets exist) and the rules in deploy/redis/quartet.acl.
    /// </summary>
    private RedisServer NewRedis(bool cache, bool detached) => new(
        cache ? Layout.RedisCacheDirectory : Layout.RedisDirectory, cache ? Settings.RedisCachePort : Settings.RedisPort,
        Secrets.Read("redis_password"), Layout.RunDirectory, Layout.LogDirectory, cache ? "redis-cache" : "redis")
    {
        Detached = detached,
        AclRules = RedisAcl.Load(Layout.Root),
        // The operator's user, for BGSAVE and INFO in backups; null until the secret exists.
        AdminPassword = Secrets.Read("redis_admin_password") is { Length: > 0 } admin ? admin : null,
        IsCache = cache,
        MaxMemory = cache ? Settings.RedisCacheMaxMemory : Settings.RedisMaxMemory,
    };

    private async Task MigrateOnlyAsync(CancellationToken cancellationToken)
    {
        var log = Path.Combine(Layout.LogDirectory, "migrate.log");
        _say($"running database migrations (log: {log})");
        var result = await CommandRunner.RunAsync(BackendServer.Run(MigrateEnvironment(), Layout.AppAssembly, null, "migrate"), cancellationToken);
        await File.AppendAllTextAsync(log, $"==== {DateTimeOffset.UtcNow:O} migrate (exit {result.ExitCode}) ====\n{result.Output}{result.Error}", cancellationToken);
        foreach (var line in result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (MessageOf(line) is { } message)
            {
                _say("migrate: " + message);
            }
        }
        if (!result.Succeeded)
        {
            throw new StackException($"migrations failed (exit {result.ExitCode}); see {log}\n{result.Error.Trim()}");
        }
    }

    private static string? MessageOf(string jsonLine)
    {
        try
        {
            using var document = JsonDocument.Parse(jsonLine);
            return document.RootElement.TryGetProperty("Message", out var message) ? message.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The .NET runtime identifier of this machine, for a ReadyToRun publish.</summary>
    public static string RuntimeIdentifier => "linux-" + RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
}
