using System.Diagnostics;
using System.Globalization;

namespace Quartet.Stack.Backups;

/// <summary>
/// Backup sets of a native stack. A set is taken while the stack runs and holds a pgBackRest full
/// backup (with the WAL archive, any later moment can be restored), a logical dump (<c>pg_dump -Fc</c>,
/// for another PostgreSQL major version) and a Redis snapshot (sessions, refresh tokens, throttles),
/// each checked after writing and listed with its SHA-256 in the set's manifest.
/// </summary>
public sealed class StackBackups(NativeStack stack, Action<string> say)
{
    private BackupLayout Layout => stack.BackupLayout;

    public RetentionPolicy Retention { get; init; } = RetentionPolicy.FromEnvironment();

    /// <summary>Listing, checking, retention and the choice of a set, as compose's backup container does them.</summary>
    public BackupSets Sets => new(Layout, stack.PgBackRest, Retention, say) { Encryption = stack.BackupEncryption };

    public async Task<BackupManifest> TakeAsync(CancellationToken cancellationToken)
    {
        if (!stack.Postgres.IsRunning || !stack.Redis.IsRunning)
        {
            throw new StackException("the stack is not running; start it with ./quartet up, then back up");
        }
        var encryption = stack.BackupEncryption;
        // Read before anything is written: a missing passphrase stops here, in one line.
        _ = encryption?.Passphrase;
        var clock = Stopwatch.StartNew();
        var set = Sets.Begin();
        var work = set.WorkDirectory;
        try
        {
            var pgBackRest = stack.PgBackRest;
            await pgBackRest.PrepareAsync(cancellationToken);
            await pgBackRest.EnsureStanzaAsync(cancellationToken);
            say($"PostgreSQL: full base backup (pgBackRest{(encryption is null ? "" : ", encrypted " + BackupEncryption.RepositoryCipher)})");
            var physical = await pgBackRest.BackupAsync(cancellationToken);
            // Encrypted sets: the plaintext is written in a private folder outside the backup folder, and only the .enc files enter the set.
            using var scratch = encryption?.NewScratch();
            say("PostgreSQL: logical dump (pg_dump -Fc)");
            var dump = scratch?.PathOf("quartet.dump") ?? Path.Combine(work, "quartet.dump");
            var rows = await LogicalDump.TakeAsync(PostgresAccess.Tcp(stack.Postgres), NativeStack.Database, dump, cancellationToken);
            say("Redis: snapshot (BGSAVE)");
            var snapshot = scratch?.PathOf("redis.rdb") ?? Path.Combine(work, "redis.rdb");
            await stack.Redis.SnapshotAsync(snapshot, cancellationToken);
            if (encryption is not null)
            {
                await encryption.SealAsync([dump, snapshot], work, say, cancellationToken);
            }

            var manifest = await Sets.CompleteAsync(set, physical, rows, clock.Elapsed, cancellationToken);
            await BackupStatus.RecordAsync(stack.Postgres.ConnectionString(NativeStack.Database, pooling: false), BackupStatus.Backup, set.TakenAt, set.Id, cancellationToken);
            return manifest;
        }
        catch
        {
            Directory.Delete(work, recursive: true);
            throw;
        }
    }

    public Task<IReadOnlyList<BackupSetInfo>> ListAsync(CancellationToken cancellationToken) => Sets.ListAsync(cancellationToken);

    /// <summary>
    /// Replaces the stack's data with a backup: PostgreSQL to the moment asked (or the end of the WAL
    /// archive, or exactly one set), Redis from the newest snapshot taken at or before it. The current
    /// data folders are kept beside, renamed, until the operator removes them.
    /// </summary>
    public async Task<BackupSetInfo> RestoreAsync(RestoreRequest request, CancellationToken cancellationToken)
    {
        var sets = Sets;
        var set = await sets.ChooseAsync(request, cancellationToken);
        sets.CheckReadable(set);

        var running = ((ServerProcess[])[stack.Nginx, stack.Backend, stack.Redis, stack.Postgres]).Where(s => s.IsRunning).Select(s => s.Name).ToList();
        if (running.Count > 0)
        {
            if (!request.Force)
            {
                throw new StackException($"the stack is running ({string.Join(", ", running)}); a restore replaces its data: " +
                    "stop it with ./quartet down, or pass --force to let restore stop it");
            }
            say($"stopping the running stack ({string.Join(", ", running)})");
            await stack.DownAsync(cancellationToken);
        }

        // Decrypted before anything is moved aside: a snapshot that does not authenticate stops the restore here.
        using var scratch = sets.NewScratch(set);
        var snapshot = await sets.OpenAsync(set, "redis.rdb", scratch, cancellationToken);

        var stamp = DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var pgData = stack.Postgres.DataDirectory;
        if (Directory.Exists(pgData))
        {
            var aside = $"{pgData}.before-restore-{stamp}";
            Directory.Move(pgData, aside);
            say($"PostgreSQL's data moved to {aside}");
        }
        Directory.CreateDirectory(pgData);
        File.SetUnixFileMode(pgData, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await ServiceUsers.GiveAsync(pgData, ServiceUsers.Postgres, cancellationToken);

        var pgBackRest = stack.PgBackRest;
        await pgBackRest.PrepareAsync(cancellationToken);
        say($"PostgreSQL: restoring to {request.Describe(set)}");
        var clock = Stopwatch.StartNew();
        await pgBackRest.RestoreAsync(request.To, request.Id is null ? null : set.Manifest.PhysicalLabel, cancellationToken);
        await stack.Postgres.StartAsync(cancellationToken);
        while (!await stack.Postgres.IsPrimaryAsync(cancellationToken))
        {
            if (clock.Elapsed > TimeSpan.FromHours(1))
            {
                throw new StackException($"PostgreSQL was still replaying WAL after an hour; see {stack.Postgres.LogFile}");
            }
            await Task.Delay(200, cancellationToken);
        }
        say($"PostgreSQL: recovered and accepting writes after {clock.Elapsed.TotalSeconds:0.0} s");

        var redisData = stack.Redis.DataDirectory;
        if (Directory.Exists(redisData))
        {
            var aside = $"{redisData}.before-restore-{stamp}";
            Directory.Move(redisData, aside);
            say($"Redis's data moved to {aside}");
        }
        say($"Redis: loading the snapshot of backup {set.Manifest.Id} ({set.Manifest.TakenAt:O})");
        // The snapshot's auth epochs may be older than the restored database's: drop them, and the backend
        // reads each back from PostgreSQL when it next needs it (decision 0014).
        await stack.Redis.RestoreSnapshotAsync(snapshot, cancellationToken, async loaded =>
        {
            var dropped = await loaded.CommandAsync(cancellationToken, "EVAL",
                "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) n = n + 1 end return n",
                "0", loaded.KeyPrefix + "user:*:epoch");
            say($"Redis: dropped {dropped} auth epochs from the snapshot; they are read again from PostgreSQL");
        });
        return set;
    }
}
