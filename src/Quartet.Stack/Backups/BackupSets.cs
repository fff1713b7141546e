using System.Globalization;

namespace Quartet.Stack.Backups;

/// <summary>A backup set as listed: its manifest and whether its files still match their checksums.</summary>
public sealed record BackupSetInfo(BackupManifest Manifest, string Directory);

/// <summary>What to restore: the newest state (neither), a moment (<see cref="To"/>) or one set (<see cref="Id"/>).</summary>
public sealed record RestoreRequest(DateTimeOffset? To, string? Id, bool Force)
{
    public const string Usage = "./quartet restore [--to TIME | BACKUP] [--force]";

    /// <summary>The arguments of <c>./quartet restore</c>: <c>--to TIME</c> or a backup's id, and <c>--force</c>.</summary>
    public static RestoreRequest Parse(IReadOnlyList<string> args)
    {
        DateTimeOffset? to = null;
        string? id = null;
        var force = false;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--force":
                    force = true;
                    break;
                case "--to" when i + 1 < args.Count:
                    to = ParseTime(args[++i]);
                    break;
                case var value when !value.StartsWith('-') && id is null:
                    id = value;
                    break;
                default:
                    throw new StackException($"restore: unexpected argument '{args[i]}'; usage: {Usage}");
            }
        }
        return to is not null && id is not null
            ? throw new StackException("restore: give a moment (--to) or a backup, not both")
            : new RestoreRequest(to, id, force);
    }

    /// <summary>An ISO 8601 moment; without an offset it is UTC.</summary>
    public static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : throw new StackException($"restore: '{text}' is not a moment; write it as 2026-12-01T09:30:00Z");

    /// <summary>What a restore is about to bring back, for its log.</summary>
    public string Describe(BackupSetInfo set) =>
        Id is not null ? $"backup {set.Manifest.Id} (base backup {set.Manifest.PhysicalLabel})"
            : To is { } target ? $"{target:O}" : "the newest archived moment";
}

/// <summary>A set being taken: <see cref="WorkDirectory"/> until it has verified, then <see cref="Directory"/>.</summary>
public sealed record NewSet(string Id, DateTimeOffset TakenAt, string Directory, string WorkDirectory);

/// <summary>
/// The sets of one backup layout as both modes keep them (native <see cref="StackBackups"/>, compose's
/// backup container): listed, checked again, thinned by the retention policy, and chosen for a restore.
/// </summary>
public sealed class BackupSets(BackupLayout layout, PgBackRest pgBackRest, RetentionPolicy retention, Action<string> say)
{
    public RetentionPolicy Retention => retention;

    /// <summary>Encrypts the new sets and decrypts encrypted ones (native mode with QUARTET_BACKUP_ENCRYPTION=on); null: off.</summary>
    public BackupEncryption? Encryption { get; init; }

    /// <summary>
    /// Where a PostgreSQL client program is (pg_restore, to list a dump): the newest installed (native mode), or
    /// the image's own on its PATH (compose's backup container).
    /// </summary>
    public Func<string, string> PostgresProgram { get; init; } = Tools.Postgres;

    /// <summary>The files of a set, by the names they have when not encrypted.</summary>
    public static readonly string[] FileNames = ["quartet.dump", "redis.rdb"];

    /// <summary>
    /// A new set's id (its UTC second) and its folder, written as <c>&lt;id&gt;.partial</c> (which no listing
    /// counts) and renamed to <see cref="NewSet.Directory"/> once it has verified.
    /// </summary>
    public NewSet Begin()
    {
        var takenAt = DateTimeOffset.UtcNow;
        var id = takenAt.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var final = layout.SetDirectory(id);
        if (Directory.Exists(final))
        {
            throw new StackException($"backup {id} exists already; wait a second and retry");
        }
        Directory.CreateDirectory(layout.SetsDirectory);
        File.SetUnixFileMode(layout.SetsDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(final + ".partial");
        return new NewSet(id, takenAt, final, final + ".partial");
    }

    /// <summary>
    /// The end of taking a set, in both modes: its manifest (files with checksums, the dump's row counts)
    /// checked against the base backup and the files just written, then the folder renamed from
    /// <c>.partial</c> to its id, and the retention policy applied.
    /// </summary>
    public async Task<BackupManifest> CompleteAsync(NewSet set, PhysicalBackup physical, IReadOnlyDictionary<string, long> rows, TimeSpan elapsed,
        CancellationToken cancellationToken)
    {
        var manifest = new BackupManifest(set.Id, set.TakenAt, physical.Label, physical.DatabaseBytes, physical.RepositoryBytes, [], null, 0)
        {
            Rows = rows,
            Encrypted = Encryption is null ? null : SetEncryption.Algorithm,
        };
        var files = new List<BackupFile>();
        foreach (var name in FileNames)
        {
            files.Add(await BackupManifest.DescribeAsync(Path.Combine(set.WorkDirectory, manifest.Stored(name)), cancellationToken));
        }
        manifest = manifest with { Files = files };
        say("verifying: the base backup against the repository's checksums, the dump's table of contents, the files' checksums" +
            (manifest.IsEncrypted ? ", and that the files decrypt" : ""));
        await pgBackRest.VerifyAsync(physical.Label, cancellationToken);
        if (await manifest.CheckFilesAsync(set.WorkDirectory, cancellationToken) is { Count: > 0 } problems)
        {
            throw new StackException("the new backup did not verify: " + string.Join("; ", problems));
        }
        // Read as a restore reads them, encrypted or not: the dump's table of contents, the snapshot's header.
        if (await CheckContentsAsync(new BackupSetInfo(manifest, set.WorkDirectory), cancellationToken) is { Count: > 0 } unreadable)
        {
            throw new StackException("the new backup did not verify: " + string.Join("; ", unreadable));
        }
        manifest = manifest with { VerifiedAt = DateTimeOffset.UtcNow, Seconds = Math.Round(elapsed.TotalSeconds, 1) };
        await manifest.WriteAsync(set.WorkDirectory, cancellationToken);
        Directory.Move(set.WorkDirectory, set.Directory);
        say($"backup {set.Id} done in {manifest.Seconds:0.0} s: base backup {physical.Label} ({Size(physical.RepositoryBytes)} in the repository), " +
            $"dump and snapshot {Size(manifest.FileBytes)}, in {set.Directory}");
        await ApplyRetentionAsync(cancellationToken);
        return manifest;
    }

    /// <summary>Complete sets (those with a manifest), oldest first.</summary>
    public async Task<IReadOnlyList<BackupSetInfo>> ListAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(layout.SetsDirectory))
        {
            return [];
        }
        var sets = new List<BackupSetInfo>();
        foreach (var dir in Directory.GetDirectories(layout.SetsDirectory).Where(d => !d.EndsWith(".partial", StringComparison.Ordinal)))
        {
            if (await BackupManifest.ReadAsync(dir, cancellationToken) is { } manifest)
            {
                sets.Add(new BackupSetInfo(manifest, dir));
            }
        }
        return [.. sets.OrderBy(s => s.Manifest.TakenAt)];
    }

    /// <summary>
    /// Checks a set again: its files against the manifest, then what they hold (<see cref="CheckContentsAsync"/>),
    /// and its base backup against the repository.
    /// </summary>
    public async Task<IReadOnlyList<string>> VerifyAsync(BackupSetInfo set, CancellationToken cancellationToken)
    {
        CheckReadable(set);
        var problems = (await set.Manifest.CheckFilesAsync(set.Directory, cancellationToken)).ToList();
        if (problems.Count == 0)
        {
            problems.AddRange(await CheckContentsAsync(set, cancellationToken));
        }
        try
        {
            await pgBackRest.VerifyAsync(set.Manifest.PhysicalLabel, cancellationToken);
        }
        catch (StackException e)
        {
            problems.Add(e.Message.Split('\n')[0]);
        }
        if (problems.Count == 0)
        {
            await (set.Manifest with { VerifiedAt = DateTimeOffset.UtcNow }).WriteAsync(set.Directory, cancellationToken);
        }
        return problems;
    }

    /// <summary>An encrypted set can be read here: encryption is on, and the passphrase is where it belongs.</summary>
    public void CheckReadable(BackupSetInfo set)
    {
        if (!set.Manifest.IsEncrypted)
        {
            return;
        }
        if (Encryption is null)
        {
            throw new StackException($"backup {set.Manifest.Id} is encrypted and {BackupEncryption.Setting} is off here: set it to on, " +
                $"with the {BackupEncryption.Secret} secret in the secrets folder");
        }
        _ = Encryption.Passphrase;
    }

    /// <summary>
    /// A file of the set as it can be read: the stored file itself, or, when the set is encrypted, a decrypted
    /// copy in <paramref name="scratch"/> (which authenticates every byte of it on the way).
    /// </summary>
    public async Task<string> OpenAsync(BackupSetInfo set, string name, BackupEncryption.Scratch? scratch, CancellationToken cancellationToken)
    {
        var stored = Path.Combine(set.Directory, set.Manifest.Stored(name));
        if (!set.Manifest.IsEncrypted)
        {
            return stored;
        }
        CheckReadable(set);
        var plaintext = (scratch ?? throw new ArgumentNullException(nameof(scratch))).PathOf(name);
        await Encryption!.Files().DecryptFileAsync(stored, plaintext, cancellationToken);
        return plaintext;
    }

    /// <summary>A private folder for decrypted copies of an encrypted set's files; null when the set is not encrypted.</summary>
    public BackupEncryption.Scratch? NewScratch(BackupSetInfo set)
    {
        CheckReadable(set);
        return set.Manifest.IsEncrypted ? Encryption!.NewScratch() : null;
    }

    /// <summary>
    /// What a set's files hold, checked as when it was taken: the dump's table of contents lists table data,
    /// the snapshot is an RDB file. An unencrypted set's files are read where they are; an encrypted set's
    /// are decrypted (each byte authenticated) into a private folder that is removed afterwards. One line
    /// per file that fails, naming the set and the file.
    /// </summary>
    private async Task<IReadOnlyList<string>> CheckContentsAsync(BackupSetInfo set, CancellationToken cancellationToken)
    {
        using var scratch = NewScratch(set);
        var problems = new List<string>();
        foreach (var (name, check) in new (string, Func<string, Task<string?>>)[] { ("quartet.dump", ListsTableDataAsync), ("redis.rdb", IsSnapshotAsync) })
        {
            var stored = set.Manifest.Stored(name);
            try
            {
                if (await check(await OpenAsync(set, name, scratch, cancellationToken)) is { } problem)
                {
                    problems.Add($"{stored} of backup {set.Manifest.Id} {problem}");
                }
            }
            catch (StackException e)
            {
                // A decryption's message names the file already.
                problems.Add($"backup {set.Manifest.Id}: {e.Message.Split('\n')[0]}");
            }
        }
        return problems;

        async Task<string?> ListsTableDataAsync(string dump)
        {
            var listing = await CommandRunner.RunAsync(new Command(PostgresProgram("pg_restore"), ["--list", dump]), cancellationToken, timeout: TimeSpan.FromMinutes(30));
            return !listing.Succeeded ? "is not a dump pg_restore can read: " + FirstLine(listing.Error, $"pg_restore --list exited with {listing.ExitCode}")
                : !listing.Output.Contains("TABLE DATA", StringComparison.Ordinal) ? "lists no table data"
                : null;
        }

        async Task<string?> IsSnapshotAsync(string snapshot)
        {
            var magic = new byte[5];
            await using var file = File.OpenRead(snapshot);
            return await file.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken) < magic.Length || !magic.AsSpan().SequenceEqual("REDIS"u8)
                ? "is not an RDB file (it does not start with REDIS)"
                : null;
        }
    }

    private static string FirstLine(string text, string otherwise) =>
        text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is [var first, ..] ? first : otherwise;

    /// <summary>Removes the sets the retention policy does not keep, with their base backups.</summary>
    public async Task ApplyRetentionAsync(CancellationToken cancellationToken)
    {
        var sets = await ListAsync(cancellationToken);
        var keep = retention.Keep(sets.Select(s => s.Manifest.TakenAt));
        foreach (var set in sets.Where(s => !keep.Contains(s.Manifest.TakenAt.ToUniversalTime())))
        {
            say($"retention ({retention}): removing backup {set.Manifest.Id}");
            await pgBackRest.ExpireAsync(set.Manifest.PhysicalLabel, cancellationToken);
            Directory.Delete(set.Directory, recursive: true);
        }
    }

    /// <summary>The oldest set from which every later moment can be restored (pgBackRest keeps continuous WAL for the newest <see cref="RetentionPolicy.Daily"/> sets).</summary>
    public BackupSetInfo ContinuousFrom(IReadOnlyList<BackupSetInfo> sets) => sets[Math.Max(0, sets.Count - Math.Max(1, retention.Daily))];

    /// <summary>The set a restore starts from: the one named, the newest taken at or before the moment, or the newest.</summary>
    public async Task<BackupSetInfo> ChooseAsync(RestoreRequest request, CancellationToken cancellationToken)
    {
        var sets = await ListAsync(cancellationToken);
        if (sets.Count == 0)
        {
            throw new StackException($"no backup in {layout.SetsDirectory}; take one with ./quartet backup");
        }
        if (request.Id is { } id)
        {
            return sets.FirstOrDefault(s => s.Manifest.Id == id) ?? throw new StackException($"no backup {id}; ./quartet backups lists them");
        }
        if (request.To is not { } to)
        {
            return sets[^1];
        }
        if (to > DateTimeOffset.UtcNow)
        {
            throw new StackException($"{to:O} is in the future");
        }
        var set = sets.LastOrDefault(s => s.Manifest.TakenAt <= to)
            ?? throw new StackException($"no backup was taken before {to:O}; the oldest is {sets[0].Manifest.Id} ({sets[0].Manifest.TakenAt:O})");
        var continuousFrom = ContinuousFrom(sets);
        return to >= continuousFrom.Manifest.TakenAt ? set
            : throw new StackException($"the WAL archive is continuous from backup {continuousFrom.Manifest.Id} ({continuousFrom.Manifest.TakenAt:O}) on; " +
                $"an older moment can be restored only as a whole backup: ./quartet restore {set.Manifest.Id}");
    }

    /// <summary>
    /// <c>./quartet backups [--verify]</c>: one row per set on standard output, then what can be restored;
    /// 1 when a set failed its check.
    /// </summary>
    public async Task<int> PrintAsync(bool verify, CancellationToken cancellationToken)
    {
        var sets = await ListAsync(cancellationToken);
        if (sets.Count == 0)
        {
            say($"no backups in {layout.SetsDirectory}; take one with ./quartet backup");
            return 0;
        }
        var failed = 0;
        var now = DateTimeOffset.UtcNow;
        Console.WriteLine($"{"BACKUP",-17} {"AGE",8} {"BASE BACKUP",12} {"DUMP+REDIS",11} {"VERIFIED",-24} PITR BASE");
        foreach (var set in sets)
        {
            var manifest = set.Manifest;
            var verified = manifest.VerifiedAt is { } at ? $"{Age(now - at)} ago" : "never";
            if (verify)
            {
                var problems = await VerifyAsync(set, cancellationToken);
                verified = problems.Count == 0 ? "just now: ok" : "FAILED: " + string.Join("; ", problems);
                failed += problems.Count > 0 ? 1 : 0;
            }
            Console.WriteLine($"{manifest.Id,-17} {Age(now - manifest.TakenAt),8} {Size(manifest.RepositoryBytes),12} " +
                $"{Size(manifest.FileBytes),11} {verified,-24} {manifest.PhysicalLabel}");
        }
        say($"{sets.Count} backups in {layout.Root}; any moment from {ContinuousFrom(sets).Manifest.TakenAt:yyyy-MM-ddTHH:mm:ssZ} to the last archived WAL " +
            "(at most a minute old) can be restored (--to), and each backup as it was taken");
        say($"retention: {retention} (QUARTET_BACKUP_KEEP)");
        return failed == 0 ? 0 : 1;
    }

    public static string Size(long bytes) => bytes switch
    {
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / 1024.0 / 1024:0.0} MiB",
        _ => $"{bytes / 1024.0 / 1024 / 1024:0.0} GiB",
    };

    private static string Age(TimeSpan age) => age switch
    {
        { TotalMinutes: < 1 } => $"{Math.Max(0, age.TotalSeconds):0}s",
        { TotalHours: < 1 } => $"{age.TotalMinutes:0}m",
        { TotalDays: < 2 } => $"{age.TotalHours:0}h",
        _ => $"{age.TotalDays:0}d",
    };
}
