using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Npgsql;
using Quartet.Stack;
using Quartet.Stack.Backups;

namespace Quartet.Backup;

/// <summary>
/// Backup sets of the compose stack, taken and restored from the backup container (decision 0021). The
/// same sets as native mode (<see cref="StackBackups"/>): a pgBackRest full backup with the continuous WAL
/// archive, a logical dump and a Redis snapshot, checked and listed in a manifest, kept by
/// <see cref="RetentionPolicy"/>. The container reaches PostgreSQL's data folder (read-only while backing
/// up) and its Unix socket through volumes, and Redis as a user that may only snapshot.
/// </summary>
public sealed partial class ComposeBackups(Action<string> say)
{
    public const string Root = "/var/lib/pgbackrest";
    public const string PgData = "/var/lib/postgresql/data";
    public const string SocketDirectory = "/var/run/postgresql";
    public const string RedisData = "/var/lib/quartet/redis";
    public const string RedisHost = "redis";
    public const int RedisPort = 6379;
    public const string RedisUser = "quartet-backup";
    public const string RedisPasswordFile = "/run/secrets/redis_backup_password";
    public const string RedisKeyPrefix = "quartet:";
    /// <summary>The backup_passphrase secret, mounted where QUARTET_BACKUP_ENCRYPTION is on.</summary>
    public const string PassphraseFile = "/run/secrets/" + BackupEncryption.Secret;
    /// <summary>A volume of the project for decrypted copies (mode 700), never the backups volume that is copied off the machine.</summary>
    public const string ScratchDirectory = "/var/lib/quartet/scratch";
    private const string Database = "quartet";

    public BackupLayout Layout { get; } = new(Root) { PgBackRestConfig = "/etc/pgbackrest/pgbackrest.conf" };

    public RetentionPolicy Retention { get; init; } = RetentionPolicy.FromEnvironment();

    /// <summary>Encryption at rest (QUARTET_BACKUP_ENCRYPTION=on, decision 0031); null: off.</summary>
    public BackupEncryption? Encryption { get; } = BackupEncryption.FromEnvironment() ? new BackupEncryption(PassphraseFile, ScratchDirectory) : null;

    /// <summary>The snapshot a restore left for the Redis step, readable by Redis's account.</summary>
    public string StagedSnapshot => Path.Combine(Root, "restore", "redis.rdb");

    /// <summary>An encrypted set's snapshot, staged as stored: Redis's step decrypts it straight into Redis's volume.</summary>
    public string StagedEncryptedSnapshot => StagedSnapshot + BackupEncryption.Suffix;

    /// <summary>Listing, checking, retention and the choice of a set, as native mode does them.</summary>
    public BackupSets Sets => new(Layout, PgBackRest, Retention, say) { Encryption = Encryption, PostgresProgram = Postgres.Program };

    /// <summary>The stack's PostgreSQL as its superuser, through the socket volume.</summary>
    private static PostgresAccess Postgres => PostgresAccess.Socket(SocketDirectory);

    private PgBackRest PgBackRest => new(Layout, new PostgresServer(PgData, 5432, "", "/tmp", "/tmp") { SocketDirectory = SocketDirectory }, Retention.Daily)
    {
        Encryption = Encryption,
    };

    /// <summary>How often the schedule looks for the schema while a new stack's migrate has not made it.</summary>
    private static readonly TimeSpan SchemaPoll = TimeSpan.FromSeconds(5);

    /// <summary>How soon the schedule looks again after a failed run, or while the schema has no backup_status table.</summary>
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The schedule: a set whenever the newest is older than the backup interval (at once when there is
    /// none), and a drill whenever backup_status's last drill is older than the drill interval; a failed
    /// drill is tried again after <see cref="BackupSchedule.RetryAfter"/> (or the interval, when shorter).
    /// </summary>
    public async Task RunAsync(BackupSchedule schedule, CancellationToken cancellationToken)
    {
        say($"scheduled: {schedule} (QUARTET_BACKUP_INTERVAL, QUARTET_DRILL_INTERVAL); retention {Retention}; backups in the volume at {Root}" +
            (Encryption is null ? "" : $", encrypted ({BackupEncryption.RepositoryCipher} and {SetEncryption.Algorithm})"));
        var drillFailedAt = DateTimeOffset.MinValue;
        var (waitedForSchema, waitedForStatus) = (false, false);
        while (true)
        {
            var wait = RetryAfterFailure;
            try
            {
                await EnsureStanzaAsync(cancellationToken);
                var sets = await Sets.ListAsync(cancellationToken);
                if (schedule.Backup is { } interval)
                {
                    var due = sets.Count == 0 ? DateTimeOffset.UtcNow : sets[^1].Manifest.TakenAt + interval;
                    if (due <= DateTimeOffset.UtcNow && !await SchemaMadeAsync(cancellationToken))
                    {
                        // A new stack's service starts before migrate has run (Swarm has no depends_on): a set
                        // of an empty database would be refused, so the first one waits for the schema.
                        if (!waitedForSchema)
                        {
                            say("the first set waits until migrations have made the schema");
                            waitedForSchema = true;
                        }
                        due = DateTimeOffset.UtcNow + SchemaPoll;
                    }
                    else if (due <= DateTimeOffset.UtcNow)
                    {
                        await TakeAsync(cancellationToken);
                        due = DateTimeOffset.UtcNow + interval;
                    }
                    wait = due - DateTimeOffset.UtcNow;
                }
                var status = schedule.Drill is null ? null : await BackupStatus.TryReadAsync(Postgres.ConnectionString(Database), cancellationToken);
                if (schedule.Drill is not null && status is null)
                {
                    // The drill records its success in the schema; until migrate has made it, it waits.
                    wait = wait < RetryAfterFailure ? wait : RetryAfterFailure;
                    if (!waitedForStatus)
                    {
                        say("the drill waits until migrations have made the backup_status table");
                        waitedForStatus = true;
                    }
                }
                else if (schedule.Drill is { } every && (sets.Count > 0 || schedule.Backup is not null))
                {
                    var last = status!.GetValueOrDefault(BackupStatus.Drill, DateTimeOffset.MinValue);
                    var retry = every < BackupSchedule.RetryAfter ? every : BackupSchedule.RetryAfter;
                    var due = last == DateTimeOffset.MinValue ? DateTimeOffset.UtcNow : last + every;
                    due = drillFailedAt + retry > due ? drillFailedAt + retry : due;
                    if (due <= DateTimeOffset.UtcNow)
                    {
                        try
                        {
                            await DrillAsync(cancellationToken);
                            due = DateTimeOffset.UtcNow + every;
                        }
                        catch (StackException)
                        {
                            drillFailedAt = DateTimeOffset.UtcNow;
                            due = drillFailedAt + retry;
                            throw;
                        }
                    }
                    wait = schedule.Backup is null || due - DateTimeOffset.UtcNow < wait ? due - DateTimeOffset.UtcNow : wait;
                }
            }
            catch (Exception e) when (e is StackException or NpgsqlException)
            {
                // A set taken before the failure is not taken again (the next one is due from it), and a
                // failed drill waits for its own retry time, so looking again soon repeats nothing.
                wait = RetryAfterFailure;
                say($"error: scheduled run failed, trying again in {wait.TotalMinutes:0} minutes: {e.Message}");
            }
            await Task.Delay(wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait > TimeSpan.FromHours(1) ? TimeSpan.FromHours(1) : wait, cancellationToken);
        }
    }

    /// <summary>The repository's folders (PostgreSQL's archive-push needs them too), then the stanza.</summary>
    private async Task EnsureStanzaAsync(CancellationToken cancellationToken)
    {
        foreach (var dir in (string[])[Layout.PgBackRestRepository, Layout.PgBackRestLogs, Layout.PgBackRestLocks])
        {
            Directory.CreateDirectory(dir);
        }
        await PgBackRest.EnsureStanzaAsync(cancellationToken);
    }

    public async Task<BackupManifest> TakeAsync(CancellationToken cancellationToken)
    {
        await using var held = await LockAsync(cancellationToken);
        if (!await PostgresAnswersAsync(cancellationToken))
        {
            throw new StackException("PostgreSQL does not answer on its socket; start the stack with ./quartet up --prod, then back up");
        }
        // Read before anything is written: a missing passphrase stops here, in one line.
        _ = Encryption?.Passphrase;
        var clock = Stopwatch.StartNew();
        var set = Sets.Begin();
        var work = set.WorkDirectory;
        try
        {
            var pgBackRest = PgBackRest;
            await EnsureStanzaAsync(cancellationToken);
            say($"PostgreSQL: full base backup (pgBackRest{(Encryption is null ? "" : ", encrypted " + BackupEncryption.RepositoryCipher)})");
            var physical = await pgBackRest.BackupAsync(cancellationToken);
            // Encrypted sets: the plaintext is written in the scratch volume, and only the .enc files enter the set.
            using var scratch = Encryption?.NewScratch();
            say("PostgreSQL: logical dump (pg_dump -Fc)");
            var dump = scratch?.PathOf("quartet.dump") ?? Path.Combine(work, "quartet.dump");
            var rows = await LogicalDump.TakeAsync(Postgres, Database, dump, cancellationToken);
            say("Redis: snapshot (SYNC)");
            var snapshot = scratch?.PathOf("redis.rdb") ?? Path.Combine(work, "redis.rdb");
            await SnapshotRedisAsync(snapshot, cancellationToken);
            if (Encryption is not null)
            {
                await Encryption.SealAsync([dump, snapshot], work, say, cancellationToken);
            }

            var manifest = await Sets.CompleteAsync(set, physical, rows, clock.Elapsed, cancellationToken);
            await RecordAsync(set.TakenAt, set.Id, cancellationToken);
            return manifest;
        }
        catch
        {
            Directory.Delete(work, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// The success goes into backup_status, which the backend exports (decision 0022). A backup taken before
    /// migrate has made that table is kept all the same: the alert on a missing success says the rest.
    /// </summary>
    private async Task RecordAsync(DateTimeOffset takenAt, string id, CancellationToken cancellationToken)
    {
        var connection = Postgres.ConnectionString(Database);
        try
        {
            await BackupStatus.RecordAsync(connection, BackupStatus.Backup, takenAt, id, cancellationToken);
        }
        catch (StackException e)
        {
            say($"warning: {e.Message}");
        }
    }

    /// <summary>
    /// PostgreSQL's part of a restore, with the stack stopped: the data folder's contents are copied aside
    /// into the backups volume, pgBackRest restores the moment (or set) asked, and a private server replays
    /// the WAL until it is promoted, then stops. The set's Redis snapshot is left for <see cref="RestoreRedisAsync"/>.
    /// </summary>
    public async Task<BackupSetInfo> RestoreAsync(RestoreRequest request, CancellationToken cancellationToken)
    {
        // Refused before anything else, so a running stack is told at once, not after a scheduled backup's lock.
        if (await PostgresAnswersAsync(cancellationToken))
        {
            throw new StackException("the stack is running (PostgreSQL answers); a restore replaces its data: " +
                "stop it with ./quartet down, or pass --force to let restore stop it");
        }
        await using var held = await LockAsync(cancellationToken);
        var sets = Sets;
        var set = await sets.ChooseAsync(request, cancellationToken);
        sets.CheckReadable(set);
        // Decrypted (so authenticated) before anything is moved aside: a snapshot that does not stops the restore here.
        using (var scratch = sets.NewScratch(set))
        {
            await sets.OpenAsync(set, "redis.rdb", scratch, cancellationToken);
        }

        var stamp = DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        if (Directory.EnumerateFileSystemEntries(PgData).Any())
        {
            var aside = Path.Combine(Root, "before-restore", stamp, "postgres");
            say($"PostgreSQL: copying the data it holds now to {aside} in the backups volume (remove it when the restore is checked)");
            CopyTree(PgData, aside);
            foreach (var entry in new DirectoryInfo(PgData).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo dir)
                {
                    dir.Delete(recursive: true);
                }
                else
                {
                    entry.Delete();
                }
            }
        }
        say($"PostgreSQL: restoring to {request.Describe(set)}");
        var clock = Stopwatch.StartNew();
        await PgBackRest.RestoreAsync(request.To, request.Id is null ? null : set.Manifest.PhysicalLabel, cancellationToken);
        await RecoverAsync(PgData, "/tmp/quartet-restore", archive: true, Encryption, _ => Task.CompletedTask, cancellationToken);
        say($"PostgreSQL: recovered and promoted after {clock.Elapsed.TotalSeconds:0.0} s");

        var staged = Path.GetDirectoryName(StagedSnapshot)!;
        Directory.CreateDirectory(staged);
        File.SetUnixFileMode(staged, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        // As stored: an encrypted snapshot stays encrypted in the backups volume, and Redis's step decrypts it.
        var staging = set.Manifest.IsEncrypted ? StagedEncryptedSnapshot : StagedSnapshot;
        foreach (var stale in (string[])[StagedSnapshot, StagedEncryptedSnapshot])
        {
            File.Delete(stale);
        }
        File.Copy(Path.Combine(set.Directory, set.Manifest.Stored("redis.rdb")), staging);
        // Redis's account reads it in the next step (it cannot read the sets).
        File.SetUnixFileMode(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        say($"Redis: the snapshot of backup {set.Manifest.Id} ({set.Manifest.TakenAt:O}) is ready to load");
        return set;
    }

    /// <summary>
    /// Redis's part of a restore (as Redis's account, Redis stopped): its files move aside into a folder of the
    /// volume, and the snapshot becomes the base of a new append-only file, which Redis loads at its next
    /// start. An empty AOF of its own would make Redis ignore a plain snapshot (decision 0019). The AOF's first
    /// command drops the snapshot's auth epochs, which Redis then reads again from PostgreSQL (decision 0014).
    /// </summary>
    public async Task RestoreRedisAsync(CancellationToken cancellationToken)
    {
        var encrypted = File.Exists(StagedEncryptedSnapshot);
        if (!encrypted && !File.Exists(StagedSnapshot))
        {
            throw new StackException("no Redis snapshot is waiting to be loaded; run ./quartet restore");
        }
        if (encrypted && Encryption is null)
        {
            throw new StackException($"the snapshot waiting to be loaded is encrypted and {BackupEncryption.Setting} is off here: set it to on, " +
                $"with the {BackupEncryption.Secret} secret");
        }
        // Read before anything moves: a missing passphrase stops here, in one line.
        _ = Encryption?.Passphrase;
        if (await RedisWire.AnswersAsync(RedisHost, RedisPort, cancellationToken))
        {
            throw new StackException("Redis is running; a restore replaces its data: stop the stack with ./quartet down first");
        }
        var stamp = DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var current = new DirectoryInfo(RedisData).EnumerateFileSystemInfos().Where(e => !e.Name.StartsWith("before-restore-", StringComparison.Ordinal)).ToList();
        if (current.Count > 0)
        {
            var aside = Path.Combine(RedisData, "before-restore-" + stamp);
            Directory.CreateDirectory(aside);
            foreach (var entry in current)
            {
                var to = Path.Combine(aside, entry.Name);
                if (entry is DirectoryInfo dir)
                {
                    dir.MoveTo(to);
                }
                else
                {
                    ((FileInfo)entry).MoveTo(to);
                }
            }
            say($"Redis: the files it held now moved to {aside} in its volume (remove them when the restore is checked)");
        }
        var aof = Path.Combine(RedisData, "appendonlydir");
        Directory.CreateDirectory(aof);
        var baseFile = Path.Combine(aof, "appendonly.aof.1.base.rdb");
        if (encrypted)
        {
            await Encryption!.Files().DecryptFileAsync(StagedEncryptedSnapshot, baseFile, cancellationToken);
        }
        else
        {
            File.Copy(StagedSnapshot, baseFile);
        }
        const string DropEpochs = "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) n = n + 1 end return n";
        await File.WriteAllTextAsync(Path.Combine(aof, "appendonly.aof.1.incr.aof"), Resp("EVAL", DropEpochs, "0", RedisKeyPrefix + "user:*:epoch"), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(aof, "appendonly.aof.manifest"),
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n", cancellationToken);
        say("Redis: the snapshot is the base of a new append-only file; Redis loads it at its next start, without the auth epochs");
    }

    /// <summary>The Redis snapshot rule of decision 0019, a save of ours: SYNC streams a fresh RDB, checked by its magic before it counts.</summary>
    private static async Task SnapshotRedisAsync(string destination, CancellationToken cancellationToken)
    {
        var password = File.Exists(RedisPasswordFile) ? (await File.ReadAllTextAsync(RedisPasswordFile, cancellationToken)).TrimEnd('\r', '\n') : "";
        if (password.Length == 0)
        {
            throw new StackException($"the redis_backup_password secret is missing ({RedisPasswordFile}); make it with scripts/generate-secrets.sh");
        }
        await using var redis = await RedisWire.ConnectAsync(RedisHost, RedisPort, RedisUser, password, cancellationToken);
        await using (var file = File.Create(destination))
        {
            await redis.SyncSnapshotAsync(file, TimeSpan.FromMinutes(30), cancellationToken);
        }
        var magic = new byte[5];
        await using (var file = File.OpenRead(destination))
        {
            if (await file.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken) < magic.Length || !magic.AsSpan().SequenceEqual("REDIS"u8))
            {
                throw new StackException("redis sent a snapshot that is not an RDB file; see ./quartet logs redis");
            }
        }
    }

    /// <summary>
    /// Runs a restored cluster privately (socket only) until it has replayed the WAL and promoted itself,
    /// then <paramref name="whilePromoted"/>, then stops it. A restore archives as the stack does; a drill's
    /// throwaway cluster never archives (its new timeline must not reach the live repository).
    /// </summary>
    private static async Task RecoverAsync(string data, string socket, bool archive, BackupEncryption? encryption, Func<PostgresAccess, Task> whilePromoted,
        CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(socket);
        var log = Path.Combine("/tmp", Path.GetFileName(socket) + ".log");
        var pgCtl = Tools.Find(null, "pg_ctl", "pg_ctl (the PostgreSQL image's)");
        var options = $"-c listen_addresses='' -c unix_socket_directories={socket} " + (archive
            ? "-c archive_mode=on -c wal_level=replica -c archive_timeout=60 -c \"archive_command=pgbackrest --stanza=quartet archive-push %p\""
            : "-c archive_mode=off -c shared_buffers=32MB -c max_parallel_workers_per_gather=0");
        // restore_command (and a restore's archive_command) reach an encrypted repository with its passphrase in their environment.
        await CommandRunner.RunCheckedAsync(new Command(pgCtl, ["-D", data, "-l", log, "-o", options, "-w", "-t", "3600", "start"])
        {
            Environment = encryption?.PgBackRestEnvironment() ?? new Dictionary<string, string?>(),
        }, cancellationToken, timeout: TimeSpan.FromHours(1));
        try
        {
            var access = PostgresAccess.Socket(socket);
            var clock = Stopwatch.StartNew();
            while (true)
            {
                await using var db = new NpgsqlConnection(access.ConnectionString("postgres"));
                await db.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand("SELECT NOT pg_is_in_recovery()", db);
                if ((bool)(await command.ExecuteScalarAsync(cancellationToken))!)
                {
                    break;
                }
                if (clock.Elapsed > TimeSpan.FromHours(1))
                {
                    throw new StackException("PostgreSQL was still replaying WAL after an hour\n" + await File.ReadAllTextAsync(log, cancellationToken));
                }
                await Task.Delay(200, cancellationToken);
            }
            await whilePromoted(access);
        }
        finally
        {
            await CommandRunner.RunAsync(new Command(pgCtl, ["-D", data, "-m", "fast", "-w", "stop"]), CancellationToken.None, timeout: TimeSpan.FromMinutes(5));
        }
    }

    /// <summary>Whether a migration has committed: the database holds a table besides the migrations' own.</summary>
    private static async Task<bool> SchemaMadeAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString(Database));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations')", connection);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    internal static async Task<bool> PostgresAnswersAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(SocketDirectory, ".s.PGSQL.5432");
        if (!File.Exists(path))
        {
            return false;
        }
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>One backup, restore or verification at a time: the scheduled one and one asked for wait for each other.</summary>
    internal async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Layout.PgBackRestLocks);
        // Not pgBackRest's own name (<stanza>-<command>.lock), which it takes during the backup.
        var path = Path.Combine(Layout.PgBackRestLocks, "sets.lock");
        var waited = Stopwatch.StartNew();
        var told = false;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < TimeSpan.FromHours(6))
            {
                if (!told)
                {
                    say("another backup or restore is running; waiting for it");
                    told = true;
                }
                await Task.Delay(1000, cancellationToken);
            }
        }
    }

    private static string Resp(params string[] command)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{command.Length}\r\n");
        foreach (var part in command)
        {
            text.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }
        return text.ToString();
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (var dir in Directory.GetDirectories(from))
        {
            CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}
