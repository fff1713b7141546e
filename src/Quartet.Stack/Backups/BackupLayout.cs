namespace Quartet.Stack.Backups;

/// <summary>
/// The backup folder of a native stack (QUARTET_BACKUP_DIR, else beside the data folder, with <c>-backups</c>
/// added to its name, so removing the data folder leaves the backups):
/// pgBackRest's repository (base backups and the WAL archive) and one folder per backup set, holding
/// its manifest, the logical dump and the Redis snapshot.
/// </summary>
public sealed record BackupLayout(string Root)
{
    /// <summary>The repository of another layout, read from here (a restore drill's own configuration beside the live one's).</summary>
    public string? SharedRepository { get; init; }

    public string PgBackRestRepository => SharedRepository ?? Path.Combine(Root, "pgbackrest");
    /// <summary>Written by native mode at every start; the compose images bake theirs in (/etc/pgbackrest).</summary>
    public string PgBackRestConfig { get; init; } = Path.Combine(Root, "pgbackrest.conf");
    public string PgBackRestLogs => Path.Combine(Root, "log");
    public string PgBackRestLocks => Path.Combine(Root, "lock");
    public string SetsDirectory => Path.Combine(Root, "sets");

    public string SetDirectory(string id) => Path.Combine(SetsDirectory, id);

    public static BackupLayout For(StackLayout stack) =>
        new(Environment.GetEnvironmentVariable("QUARTET_BACKUP_DIR") is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.TrimEndingDirectorySeparator(stack.DataDirectory) + "-backups");
}
