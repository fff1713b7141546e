namespace Quartet.Deploy.Tests.Migrations;

/// <summary>
/// The release that still serves while a rolling upgrade applies this checkout's migrations
/// (decision 0029): the newest <c>v*</c> tag behind the code under test; without tags, the commit
/// just before the newest schema change, or HEAD itself while the working tree adds migrations.
/// </summary>
public sealed record PreviousRelease(string Commit, string Why, IReadOnlyList<string> Migrations)
{
    private const string MigrationsFolder = "db/migrations";

    /// <summary>The migration files of this checkout that the previous release does not have.</summary>
    public IReadOnlyList<string> NewMigrations(string repository) =>
        [.. CurrentMigrations(repository).Except(Migrations, StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    public static async Task<PreviousRelease> FindAsync(string repository, CancellationToken cancellationToken)
    {
        if (await GitAsync(repository, cancellationToken, "rev-parse", "--is-shallow-repository") != "false")
        {
            throw new InvalidOperationException(
                "the previous release is found in git history, and this clone is shallow: run 'git fetch --unshallow' (CI clones with full history)");
        }
        var head = await GitAsync(repository, cancellationToken, "rev-parse", "HEAD");
        var inHead = await MigrationsAtAsync(repository, head, cancellationToken);
        var workingTreeAdds = CurrentMigrations(repository).Except(inHead, StringComparer.Ordinal).ToList();

        var onHead = Lines(await GitAsync(repository, cancellationToken, "tag", "--points-at", "HEAD", "--list", "v*")).ToHashSet(StringComparer.Ordinal);
        var tag = Lines(await GitAsync(repository, cancellationToken, "tag", "--merged", "HEAD", "--list", "v*", "--sort=-v:refname"))
            .FirstOrDefault(t => workingTreeAdds.Count > 0 || !onHead.Contains(t));
        if (tag is not null)
        {
            var tagged = await GitAsync(repository, cancellationToken, "rev-parse", tag + "^{commit}");
            return new(tagged, $"the newest release tag, {tag}", await MigrationsAtAsync(repository, tagged, cancellationToken));
        }
        if (workingTreeAdds.Count > 0)
        {
            return new(head, $"HEAD: the working tree adds {string.Join(", ", workingTreeAdds)}", inHead);
        }
        var change = await GitAsync(repository, cancellationToken, "log", "--first-parent", "--diff-filter=A", "--format=%H", "-1", "HEAD", "--", MigrationsFolder);
        if (change.Length == 0 || await GitAsync(repository, cancellationToken, "rev-list", "--count", "--first-parent", change) == "1")
        {
            throw new InvalidOperationException("there is no release before the first migration to check against");
        }
        var parent = await GitAsync(repository, cancellationToken, "rev-parse", change + "^1");
        return new(parent, $"the parent of {change[..10]}, the newest commit that added a migration", await MigrationsAtAsync(repository, parent, cancellationToken));
    }

    /// <summary>Writes the release's files into <paramref name="folder"/> (git archive, no worktree to forget).</summary>
    public async Task ExtractAsync(string repository, string folder, CancellationToken cancellationToken)
    {
        var archive = Path.Combine(folder, "source.tar");
        await GitAsync(repository, cancellationToken, "archive", "--format=tar", "-o", archive, Commit);
        await CommandRunner.RunCheckedAsync(Command.Of("tar", "-xf", archive, "-C", folder), cancellationToken);
        File.Delete(archive);
    }

    private static IEnumerable<string> CurrentMigrations(string repository) =>
        Directory.EnumerateFiles(Path.Combine(repository, MigrationsFolder), "*.sql").Select(Path.GetFileName).OfType<string>();

    private static async Task<IReadOnlyList<string>> MigrationsAtAsync(string repository, string commit, CancellationToken cancellationToken) =>
        [.. Lines(await GitAsync(repository, cancellationToken, "ls-tree", "--name-only", commit, MigrationsFolder + "/"))
            .Select(p => p[(MigrationsFolder.Length + 1)..]).Where(f => f.EndsWith(".sql", StringComparison.Ordinal))];

    private static IEnumerable<string> Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static async Task<string> GitAsync(string repository, CancellationToken cancellationToken, params string[] arguments)
    {
        var result = await CommandRunner.RunCheckedAsync(new Command("git", ["-C", repository, .. arguments]), cancellationToken, timeout: TimeSpan.FromMinutes(2));
        return result.Output.Trim();
    }
}
