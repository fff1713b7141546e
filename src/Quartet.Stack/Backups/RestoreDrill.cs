using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

namespace Quartet.Stack.Backups;

/// <summary>What a drill proved, and when it ended.</summary>
public sealed record DrillReport(string BackupId, DateTimeOffset FinishedAt, double Seconds, string ArchivedLsn, long Users);

/// <summary>
/// A restore rehearsed beside the running stack (decision 0022): the newest backup set is checked, then
/// restored into a throwaway PostgreSQL, Redis and backend on ports and folders of their own, to the newest
/// archived moment. The throwaway stack must reach that moment, hold every migration, report ready and
/// answer a real read through the API; the dump must load and hold the rows its manifest counted. The live
/// stack keeps serving: the drill only asks it to close its current WAL segment and reads what it archived.
/// Success is recorded in backup_status; a failure records nothing and throws one line, "drill failed: ...".
/// </summary>
public sealed class RestoreDrill(NativeStack stack, Action<string> say)
{
    private const string DumpCheckDatabase = "quartet_drill_dump";

    /// <summary>The throwaway stack's folder: beside the data folder (the disk planned for a copy of the data), removed after each drill.</summary>
    public string Directory => Path.TrimEndingDirectorySeparator(stack.Layout.DataDirectory) + "-drill";

    /// <summary>How long the archive may take to receive the segment the drill closed.</summary>
    public TimeSpan ArchiveWait { get; init; } = TimeSpan.FromMinutes(2);

    public async Task<DrillReport> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await DrillAsync(cancellationToken);
        }
        catch (Exception e) when (e is StackException or NpgsqlException or HttpRequestException or JsonException or IOException or TimeoutException)
        {
            throw new StackException("drill failed: " + e.Message);
        }
    }

    private async Task<DrillReport> DrillAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        if (!stack.Postgres.IsRunning)
        {
            throw new StackException("the stack is not running; the drill restores beside a running stack: start it with ./quartet up");
        }
        // One drill at a time (a scheduled one and an operator's share the folder).
        FileStream drillLock;
        try
        {
            drillLock = new FileStream(Directory + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new StackException($"another drill is running (it holds {Directory}.lock)");
        }
        await using var held = drillLock;
        var sets = await new StackBackups(stack, say).ListAsync(cancellationToken);
        if (sets.Count == 0)
        {
            throw new StackException($"no backup in {stack.BackupLayout.SetsDirectory}; take one with ./quartet backup");
        }
        var set = sets[^1];
        var backups = new StackBackups(stack, say).Sets;
        backups.CheckReadable(set);
        say($"drill: backup {set.Manifest.Id}: its files against the manifest's checksums, its base backup against the repository's");
        if (await set.Manifest.CheckFilesAsync(set.Directory, cancellationToken) is { Count: > 0 } problems)
        {
            throw new StackException($"backup {set.Manifest.Id}: {string.Join("; ", problems)}");
        }
        await stack.PgBackRest.VerifyAsync(set.Manifest.PhysicalLabel, cancellationToken);

        var newest = await LogicalDump.CloseSegmentAsync(stack.Postgres.ConnectionString("postgres", pooling: false), ArchiveWait,
            $"{stack.BackupLayout.PgBackRestLogs} and {stack.Postgres.LogFile}", cancellationToken);
        say($"drill: the live stack's WAL is archived up to {newest}; restoring to the end of the archive in {Directory}");

        var throwaway = new Throwaway(stack, Directory);
        long users;
        try
        {
            await throwaway.CleanAsync();
            var pg = throwaway.Postgres;
            var pgBackRest = new PgBackRest(throwaway.Backups, pg) { Encryption = stack.BackupEncryption };
            await pgBackRest.PrepareAsync(cancellationToken);
            System.IO.Directory.CreateDirectory(pg.DataDirectory);
            File.SetUnixFileMode(pg.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await ServiceUsers.GiveAsync(Path.GetDirectoryName(pg.DataDirectory)!, ServiceUsers.Postgres, cancellationToken);
            await pgBackRest.RestoreAsync(null, null, cancellationToken);
            await pg.StartAsync(cancellationToken);
            var replay = Stopwatch.StartNew();
            while (!await pg.IsPrimaryAsync(cancellationToken))
            {
                if (replay.Elapsed > TimeSpan.FromHours(1))
                {
                    throw new StackException($"the throwaway PostgreSQL was still replaying WAL after an hour; see {pg.LogFile}");
                }
                await Task.Delay(200, cancellationToken);
            }

            await using var restored = new NpgsqlConnection(pg.ConnectionString(NativeStack.Database, pooling: false));
            await restored.OpenAsync(cancellationToken);
            var lsn = await ScalarAsync<string>(restored, "SELECT pg_current_wal_lsn()::text", cancellationToken);
            if (!await ScalarAsync<bool>(restored, $"SELECT '{lsn}'::pg_lsn >= '{newest}'::pg_lsn", cancellationToken))
            {
                throw new StackException($"the restore stopped at {lsn}, before the newest archived moment {newest}: WAL is missing from the archive");
            }
            var migrations = System.IO.Directory.GetFiles(Path.Combine(stack.Layout.Root, "db", "migrations"), "*.sql").Length;
            var applied = await ScalarAsync<long>(restored, "SELECT count(*) FROM schema_migrations", cancellationToken);
            if (applied != migrations)
            {
                throw new StackException($"the restored database has {applied} of {migrations} migrations; run ./quartet migrate on the live stack, back up, and drill again");
            }
            say($"drill: PostgreSQL restored to {lsn} (at or past {newest}) with all {migrations} migrations");

            // An encrypted set's files are decrypted (and so authenticated) into the throwaway folder, removed with it.
            var scratch = set.Manifest.IsEncrypted ? new BackupEncryption.Scratch(Path.Combine(Directory, "decrypted")) : null;
            if (scratch is not null)
            {
                System.IO.Directory.CreateDirectory(scratch.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            using var decrypted = scratch;
            await LogicalDump.CheckLoadsAsync(PostgresAccess.Tcp(pg), set, DumpCheckDatabase, say, cancellationToken,
                await backups.OpenAsync(set, "quartet.dump", scratch, cancellationToken));

            await throwaway.Redis.RestoreSnapshotAsync(await backups.OpenAsync(set, "redis.rdb", scratch, cancellationToken), cancellationToken);
            await throwaway.Redis.StartAsync(cancellationToken);
            await throwaway.RedisCache.StartAsync(cancellationToken);
            var backend = throwaway.Backend();
            await backend.StartAsync(cancellationToken);
            users = await ScalarAsync<long>(restored, "SELECT count(*) FROM users", cancellationToken);
            var listed = await ReadThroughApiAsync(backend.BaseAddress, cancellationToken);
            if (listed != users)
            {
                throw new StackException($"the throwaway backend lists {listed} users; its database holds {users}");
            }
            say($"drill: the throwaway backend is ready and its admin API lists all {users} users");
        }
        finally
        {
            await throwaway.TearDownAsync(say);
        }

        var finished = DateTimeOffset.UtcNow;
        var report = new DrillReport(set.Manifest.Id, finished, Math.Round(clock.Elapsed.TotalSeconds, 1), newest, users);
        await BackupStatus.RecordAsync(stack.Postgres.ConnectionString(NativeStack.Database, pooling: false), BackupStatus.Drill, finished,
            $"backup {set.Manifest.Id} restored to {newest}", cancellationToken);
        say($"drill passed in {report.Seconds:0.0} s: backup {set.Manifest.Id} restored to the newest archived moment, verified, and the throwaway stack removed");
        return report;
    }

    /// <summary>The development admin's token, then the admin list of users: how many the API says there are.</summary>
    private async Task<long> ReadThroughApiAsync(Uri backend, CancellationToken cancellationToken)
    {
        var password = stack.Secrets.Read("admin_password");
        if (password.Length == 0)
        {
            throw new StackException($"{stack.Secrets.PathOf("admin_password")} is missing: the drill signs in as the admin to read through the API; ./quartet secrets creates it");
        }
        using var http = new HttpClient { BaseAddress = backend, Timeout = TimeSpan.FromSeconds(30) };
        using var token = await http.PostAsJsonAsync("/api/auth/token", new { email = stack.Settings.AdminEmail, password }, cancellationToken);
        if (!token.IsSuccessStatusCode)
        {
            throw new StackException($"the throwaway backend refused the admin's sign-in ({(int)token.StatusCode}): the restored accounts differ from the secrets");
        }
        using var tokenBody = JsonDocument.Parse(await token.Content.ReadAsStringAsync(cancellationToken));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/admin/users?pageSize=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokenBody.RootElement.GetProperty("accessToken").GetString());
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new StackException($"the throwaway backend answered GET /api/admin/users with {(int)response.StatusCode}");
        }
        using var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return page.RootElement.GetProperty("total").GetInt64();
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100", Justification = "LSNs read from PostgreSQL itself.")]
    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// The throwaway servers: PostgreSQL without archiving (its new timeline must never reach the live
    /// repository), Redis from the set's snapshot, an empty cache Redis and the stack's own backend binary,
    /// all on free ports, with their pids and logs in the drill folder.
    /// </summary>
    private sealed class Throwaway
    {
        private readonly NativeStack _stack;
        private readonly string _root;
        private readonly string _run;
        private readonly string _logs;
        private BackendServer? _backend;

        public Throwaway(NativeStack stack, string root)
        {
            _stack = stack;
            _root = root;
            _run = Path.Combine(root, "run");
            _logs = Path.Combine(root, "logs");
            var pgData = Path.Combine(root, "pg", "data");
            Postgres = new PostgresServer(pgData, Ports.Free(), stack.Postgres.Password, _run, _logs)
            {
                SocketDirectory = PostgresServer.SocketDirectoryFor(pgData),
                // Recovery refuses a max_connections below the primary's.
                Settings = new Dictionary<string, string>
                {
                    ["archive_mode"] = "off",
                    ["max_connections"] = stack.Postgres.Settings.GetValueOrDefault("max_connections", "100"),
                },
                // restore_command fetches WAL from the repository, which needs its passphrase when encrypted.
                Environment = stack.PostgresEnvironment(),
            };
            Backups = new BackupLayout(Path.Combine(root, "pgbackrest")) { SharedRepository = stack.BackupLayout.PgBackRestRepository };
            Redis = NewRedis(Path.Combine(root, "redis"), "drill-redis", cache: false);
            RedisCache = NewRedis(Path.Combine(root, "redis-cache"), "drill-redis-cache", cache: true);
        }

        public PostgresServer Postgres { get; }
        public BackupLayout Backups { get; }
        public RedisServer Redis { get; }
        public RedisServer RedisCache { get; }

        private RedisServer NewRedis(string directory, string name, bool cache) => new(directory, Ports.Free(),
            _stack.Secrets.Read("redis_password"), _run, _logs, name)
        {
            AclRules = RedisAcl.Load(_stack.Layout.Root),
            AdminPassword = _stack.Redis.AdminPassword,
            IsCache = cache,
        };

        public BackendServer Backend()
        {
            var environment = _stack.BackendEnvironment();
            environment["Database__Port"] = Postgres.Port.ToString(CultureInfo.InvariantCulture);
            environment["Redis__Endpoint"] = Redis.Endpoint;
            environment["Redis__CacheEndpoint"] = RedisCache.Endpoint;
            // A port nobody listens on: the restored mail outbox must never send its mails a second time.
            environment["Mail__SmtpPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture);
            environment.Remove("Metrics__Port");
            _backend = new BackendServer(_stack.Layout.AppAssembly, environment, Ports.Free(), _run, _logs, "drill-backend");
            return _backend;
        }

        /// <summary>What a drill that was killed left behind: its servers stopped, its folder removed.</summary>
        public async Task CleanAsync()
        {
            var leftBackend = new BackendServer(_stack.Layout.AppAssembly, new Dictionary<string, string?>(), 0, _run, _logs, "drill-backend");
            foreach (var server in (ServerProcess[])[leftBackend, RedisCache, Redis, Postgres])
            {
                await server.KillAsync();
            }
            if (System.IO.Directory.Exists(_root))
            {
                System.IO.Directory.Delete(_root, recursive: true);
            }
            foreach (var dir in (string[])[_root, _run, _logs])
            {
                System.IO.Directory.CreateDirectory(dir);
            }
            File.SetUnixFileMode(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        public async Task TearDownAsync(Action<string> say)
        {
            foreach (var server in (ServerProcess?[])[_backend, RedisCache, Redis, Postgres])
            {
                try
                {
                    if (server is { IsRunning: true })
                    {
                        await server.StopAsync(CancellationToken.None);
                    }
                }
                catch (StackException e)
                {
                    say($"drill: could not stop the throwaway {server!.Name}: {e.Message.Split('\n')[0]}");
                }
            }
            // The last drill's logs are kept beside the stack's own (logs/drill/); the rest goes.
            try
            {
                var kept = Path.Combine(_stack.Layout.LogDirectory, "drill");
                if (System.IO.Directory.Exists(kept))
                {
                    System.IO.Directory.Delete(kept, recursive: true);
                }
                if (System.IO.Directory.Exists(_logs))
                {
                    System.IO.Directory.CreateDirectory(kept);
                    foreach (var log in System.IO.Directory.GetFiles(_logs))
                    {
                        File.Copy(log, Path.Combine(kept, Path.GetFileName(log)));
                    }
                }
                System.IO.Directory.Delete(_root, recursive: true);
                if (Postgres.SocketDirectory is { } socket && System.IO.Directory.Exists(socket))
                {
                    System.IO.Directory.Delete(socket, recursive: true);
                }
            }
            catch (IOException e)
            {
                say($"drill: could not remove {_root}: {e.Message}");
            }
        }
    }
}
