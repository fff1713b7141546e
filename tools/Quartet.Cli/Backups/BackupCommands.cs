using System.Globalization;
using Quartet.Stack;
using Quartet.Stack.Backups;

namespace Quartet.Cli.Backups;

/// <summary>`./quartet backup`, `backups` and `restore` for the native stack.</summary>
internal sealed class BackupCommands(Cli cli)
{
    public async Task<int> BackupAsync(string[] args, CancellationToken cancellationToken)
    {
        if (args.Length > 0)
        {
            throw new StackException($"backup: unknown argument '{args[0]}'");
        }
        await Backups(cli.Native()).TakeAsync(cancellationToken);
        return 0;
    }

    public async Task<int> ListAsync(string[] args, CancellationToken cancellationToken)
    {
        var verify = args is ["--verify"];
        if (args.Length > 0 && !verify)
        {
            throw new StackException($"backups: unknown argument '{args[0]}' (only --verify)");
        }
        var stack = cli.Native();
        var backups = Backups(stack);
        var sets = await backups.ListAsync(cancellationToken);
        if (sets.Count == 0)
        {
            cli.Say($"no backups in {stack.BackupLayout.SetsDirectory}; take one with ./quartet backup");
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
                var problems = await backups.VerifyAsync(set, cancellationToken);
                verified = problems.Count == 0 ? "just now: ok" : "FAILED: " + string.Join("; ", problems);
                failed += problems.Count > 0 ? 1 : 0;
            }
            Console.WriteLine($"{manifest.Id,-17} {Age(now - manifest.TakenAt),8} {StackBackups.Size(manifest.RepositoryBytes),12} " +
                $"{StackBackups.Size(manifest.FileBytes),11} {verified,-24} {manifest.PhysicalLabel}");
        }
        var continuous = backups.ContinuousFrom(sets).Manifest.TakenAt;
        cli.Say($"{sets.Count} backups in {stack.BackupLayout.Root}; any moment from {continuous:yyyy-MM-ddTHH:mm:ssZ} to the last archived WAL " +
            "(at most a minute old) can be restored (--to), and each backup as it was taken");
        cli.Say($"retention: {backups.Retention} (QUARTET_BACKUP_KEEP)");
        return failed == 0 ? 0 : 1;
    }

    public async Task<int> RestoreAsync(string[] args, CancellationToken cancellationToken)
    {
        DateTimeOffset? to = null;
        string? id = null;
        var force = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--force":
                    force = true;
                    break;
                case "--to" when i + 1 < args.Length:
                    to = ParseTime(args[++i]);
                    break;
                case var value when !value.StartsWith('-') && id is null:
                    id = value;
                    break;
                default:
                    throw new StackException($"restore: unexpected argument '{args[i]}'; usage: ./quartet restore [--to TIME | BACKUP] [--force]");
            }
        }
        if (to is not null && id is not null)
        {
            throw new StackException("restore: give a moment (--to) or a backup, not both");
        }
        var stack = cli.Native();
        var set = await Backups(stack).RestoreAsync(new RestoreRequest(to, id, force), cancellationToken);
        cli.Say($"restored from backup {set.Manifest.Id}; starting the stack");
        await stack.UpAsync(cancellationToken);
        return 0;
    }

    private StackBackups Backups(NativeStack stack) => new(stack, cli.Say);

    /// <summary>An ISO 8601 moment; without an offset it is UTC.</summary>
    internal static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : throw new StackException($"restore: '{text}' is not a moment; write it as 2026-12-01T09:30:00Z");

    private static string Age(TimeSpan age) => age switch
    {
        { TotalMinutes: < 1 } => $"{Math.Max(0, age.TotalSeconds):0}s",
        { TotalHours: < 1 } => $"{age.TotalMinutes:0}m",
        { TotalDays: < 2 } => $"{age.TotalHours:0}h",
        _ => $"{age.TotalDays:0}d",
    };
}
