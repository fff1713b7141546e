using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Quartet.Stack.Backups;

/// <summary>One base backup in pgBackRest's repository.</summary>
public sealed record PhysicalBackup(string Label, string Type, DateTimeOffset Started, DateTimeOffset Stopped, long DatabaseBytes, long RepositoryBytes,
    string WalStart, string WalStop);

/// <summary>
/// PostgreSQL's continuous archive and base backups through pgBackRest: PostgreSQL pushes every WAL
/// segment to the repository (<see cref="ServerSettings"/>, at least once a minute while there are
/// writes), and a base backup plus the WAL after it restores the cluster to any moment. pgBackRest
/// reaches the server on its Unix socket, and runs as the account that owns the cluster.
/// </summary>
public sealed class PgBackRest(BackupLayout layout, PostgresServer postgres, int continuousArchiveBackups = 7)
{
    public const string Stanza = "quartet";

    /// <summary>Seconds after which PostgreSQL switches to a new WAL segment when it has written anything: the recovery point objective.</summary>
    public const int ArchiveTimeoutSeconds = 60;

    public string ConfigFile => layout.PgBackRestConfig;

    /// <summary>The repository's encryption (QUARTET_BACKUP_ENCRYPTION); null: none (compose mode, or off).</summary>
    public BackupEncryption? Encryption { get; init; }

    /// <summary>PostgreSQL's server settings for archiving into this repository.</summary>
    public static IReadOnlyDictionary<string, string> ServerSettings(BackupLayout layout) => new Dictionary<string, string>
    {
        ["archive_mode"] = "on",
        ["archive_command"] = $"{Program()} --config={layout.PgBackRestConfig} --stanza={Stanza} archive-push %p",
        ["archive_timeout"] = ArchiveTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        ["wal_level"] = "replica",
    };

    private static string Program() => Tools.Find("QUARTET_PGBACKREST", "pgbackrest", "pgbackrest (apt-get install pgbackrest)");

    /// <summary>Writes the configuration and the repository's folders (owned by the cluster's account).</summary>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        CheckCipher();
        foreach (var dir in (string[])[layout.Root, layout.PgBackRestRepository, layout.PgBackRestLogs, layout.PgBackRestLocks])
        {
            Directory.CreateDirectory(dir);
        }
        File.SetUnixFileMode(layout.Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var config = new StringBuilder()
            .AppendLine("# Written by ./quartet at every start; edits are lost.")
            .AppendLine("[global]")
            .AppendLine(CultureInfo.InvariantCulture, $"repo1-path={layout.PgBackRestRepository}")
            // Retention is decided by Quartet's own policy (daily, weekly, monthly), which expires sets by label.
            .AppendLine("repo1-retention-full=9999999")
            // Continuous WAL (any moment) from the newest N base backups on; older ones keep only the WAL that
            // makes each of them consistent, so they restore as they were when taken.
            .AppendLine("repo1-retention-archive-type=full")
            .AppendLine(CultureInfo.InvariantCulture, $"repo1-retention-archive={Math.Max(1, continuousArchiveBackups)}")
            .AppendLine("compress-type=zst")
            // Only the cipher's name: pgBackRest takes the passphrase from its environment (PassphraseVariable).
            .Append(Encryption is null ? "" : $"repo1-cipher-type={BackupEncryption.RepositoryCipher}\n")
            .AppendLine("start-fast=y")
            .AppendLine("archive-async=n")
            .AppendLine(CultureInfo.InvariantCulture, $"log-path={layout.PgBackRestLogs}")
            .AppendLine(CultureInfo.InvariantCulture, $"lock-path={layout.PgBackRestLocks}")
            .AppendLine("log-level-console=warn")
            .AppendLine("log-level-file=info")
            .AppendLine(CultureInfo.InvariantCulture, $"[{Stanza}]")
            .AppendLine(CultureInfo.InvariantCulture, $"pg1-path={postgres.DataDirectory}")
            .AppendLine(CultureInfo.InvariantCulture, $"pg1-port={postgres.Port}")
            .AppendLine(CultureInfo.InvariantCulture, $"pg1-socket-path={postgres.SocketDirectory}")
            .AppendLine(CultureInfo.InvariantCulture, $"pg1-user={PostgresServer.Superuser}")
            .ToString();
        await File.WriteAllTextAsync(layout.PgBackRestConfig, config, cancellationToken);
        await ServiceUsers.GiveAsync(layout.Root, ServiceUsers.Postgres, cancellationToken);
    }

    /// <summary>
    /// Whether the repository was created encrypted (pgBackRest then encrypts its info files as well, which
    /// otherwise are plain text starting with a section name); null while there is none.
    /// </summary>
    public bool? RepositoryEncrypted()
    {
        foreach (var info in (string[])[Path.Combine(layout.PgBackRestRepository, "backup", Stanza, "backup.info"),
            Path.Combine(layout.PgBackRestRepository, "archive", Stanza, "archive.info")])
        {
            if (File.Exists(info))
            {
                using var file = File.OpenRead(info);
                return file.ReadByte() is var first and not -1 && first != '[';
            }
        }
        return null;
    }

    /// <summary>
    /// A repository is encrypted, or not, from its creation: the setting must agree with it before pgBackRest
    /// runs, or archiving and backups would fail further on with pgBackRest's own words.
    /// </summary>
    public void CheckCipher()
    {
        if (RepositoryEncrypted() is not { } encrypted || encrypted == Encryption is not null)
        {
            return;
        }
        throw new StackException($"the backup repository in {layout.PgBackRestRepository} was created {(encrypted ? "encrypted" : "without encryption")} " +
            $"and {BackupEncryption.Setting} is {(encrypted ? "off" : "on")}; a repository's encryption cannot change: stop the stack, " +
            $"move the backup folder {layout.Root} aside or set QUARTET_BACKUP_DIR to a new folder, start it and take a new backup" +
            (encrypted ? $" (or set {BackupEncryption.Setting}=on again)" : ""));
    }

    /// <summary>The cipher pgBackRest reports for the repository (<c>pgbackrest info</c>): none or aes-256-cbc.</summary>
    public async Task<string> CipherAsync(CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(await RunAsync(cancellationToken, TimeSpan.FromMinutes(2), "info", "--output=json"));
        return document.RootElement.EnumerateArray().Select(s => s.GetProperty("cipher").GetString()).FirstOrDefault() ?? "none";
    }

    /// <summary>Creates the stanza unless the repository has it (PostgreSQL must be running).</summary>
    public async Task EnsureStanzaAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(layout.PgBackRestRepository, "backup", Stanza, "backup.info")))
        {
            await RunAsync(cancellationToken, TimeSpan.FromMinutes(2), "stanza-create");
        }
    }

    /// <summary>
    /// A full base backup. Every set is full, so expiring one never takes another's base with it; pgBackRest
    /// still stores a file unchanged since the previous backup compressed and checksummed.
    /// </summary>
    public async Task<PhysicalBackup> BackupAsync(CancellationToken cancellationToken)
    {
        var before = (await InfoAsync(cancellationToken)).Select(b => b.Label).ToHashSet();
        await RunAsync(cancellationToken, TimeSpan.FromHours(6), "backup", "--type=full");
        return (await InfoAsync(cancellationToken)).LastOrDefault(b => !before.Contains(b.Label))
            ?? throw new StackException("pgbackrest reported success but no new backup is in its repository");
    }

    /// <summary>The repository's base backups, oldest first.</summary>
    public async Task<IReadOnlyList<PhysicalBackup>> InfoAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(layout.PgBackRestRepository, "backup", Stanza, "backup.info")))
        {
            return [];
        }
        var output = await RunAsync(cancellationToken, TimeSpan.FromMinutes(2), "info", "--output=json");
        using var document = JsonDocument.Parse(output);
        var list = new List<PhysicalBackup>();
        foreach (var stanza in document.RootElement.EnumerateArray())
        {
            if (!stanza.TryGetProperty("backup", out var backups))
            {
                continue;
            }
            foreach (var b in backups.EnumerateArray())
            {
                var timestamp = b.GetProperty("timestamp");
                var info = b.GetProperty("info");
                var archive = b.GetProperty("archive");
                list.Add(new PhysicalBackup(
                    b.GetProperty("label").GetString()!, b.GetProperty("type").GetString()!,
                    DateTimeOffset.FromUnixTimeSeconds(timestamp.GetProperty("start").GetInt64()),
                    DateTimeOffset.FromUnixTimeSeconds(timestamp.GetProperty("stop").GetInt64()),
                    info.GetProperty("size").GetInt64(), info.GetProperty("repository").GetProperty("size").GetInt64(),
                    archive.GetProperty("start").GetString() ?? "", archive.GetProperty("stop").GetString() ?? ""));
            }
        }
        return [.. list.OrderBy(b => b.Started)];
    }

    /// <summary>Checks every file of the backup and the WAL it needs against the repository's checksums.</summary>
    public Task VerifyAsync(string label, CancellationToken cancellationToken) =>
        RunAsync(cancellationToken, TimeSpan.FromHours(1), "verify", $"--set={label}");

    /// <summary>Removes a base backup (and what only it needed) from the repository.</summary>
    public Task ExpireAsync(string label, CancellationToken cancellationToken) =>
        RunAsync(cancellationToken, TimeSpan.FromMinutes(30), "expire", $"--set={label}");

    /// <summary>
    /// Restores into the (empty) data folder: to <paramref name="target"/> when given, else to the end of the
    /// archived WAL; from <paramref name="label"/> when given, else from the newest base backup that fits.
    /// The cluster then replays WAL at its next start and promotes itself when it reaches the target.
    /// </summary>
    public Task RestoreAsync(DateTimeOffset? target, string? label, CancellationToken cancellationToken)
    {
        var arguments = new List<string> { "restore" };
        if (target is { } at)
        {
            arguments.Add("--type=time");
            arguments.Add("--target-action=promote");
            arguments.Add("--target=" + at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00");
        }
        if (label is not null)
        {
            arguments.Add("--set=" + label);
            if (target is null)
            {
                // Just that backup: consistent at its end, no later WAL.
                arguments.Add("--type=immediate");
                arguments.Add("--target-action=promote");
            }
        }
        return RunAsync(cancellationToken, TimeSpan.FromHours(6), [.. arguments]);
    }

    private async Task<string> RunAsync(CancellationToken cancellationToken, TimeSpan timeout, params string[] arguments)
    {
        CheckCipher();
        var environment = new Dictionary<string, string?>(Encryption?.PgBackRestEnvironment() ?? new Dictionary<string, string?>())
        {
            // libpq reads the password from here; it never shows on a command line.
            ["PGPASSWORD"] = postgres.Password,
        };
        var command = new Command(Program(), [$"--config={layout.PgBackRestConfig}", $"--stanza={Stanza}", .. arguments])
        {
            User = ServiceUsers.For(ServiceUsers.Postgres),
            Environment = environment,
            WorkingDirectory = layout.Root,
        };
        var result = await CommandRunner.RunAsync(command, cancellationToken, timeout: timeout);
        if (!result.Succeeded)
        {
            throw new StackException($"pgbackrest {arguments[0]} failed (exit {result.ExitCode}); see {layout.PgBackRestLogs}\n{(result.Error + result.Output).Trim()}");
        }
        return result.Output;
    }
}
