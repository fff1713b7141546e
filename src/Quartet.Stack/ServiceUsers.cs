namespace Quartet.Stack;

/// <summary>
/// The system accounts the servers run as when the caller is root: PostgreSQL refuses root, and nginx
/// and Redis have no reason to hold it. A caller who is not root runs every server as itself.
/// </summary>
public static class ServiceUsers
{
    public const string Postgres = "postgres";
    public const string Nginx = "www-data";
    public const string Redis = "redis";

    /// <summary>The account to switch to, or null when no switch happens (the caller is not root).</summary>
    public static string? For(string user) => Native.IsRoot ? user : null;

    /// <summary>Makes sure the account exists (Debian's packages create them; a minimal system may not).</summary>
    public static async Task EnsureAsync(string user, CancellationToken cancellationToken)
    {
        if (!Native.IsRoot || await ExistsAsync(user, cancellationToken))
        {
            return;
        }
        await CommandRunner.RunCheckedAsync(Command.Of("useradd", "--system", "--user-group", "--no-create-home",
            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user), cancellationToken);
    }

    private static async Task<bool> ExistsAsync(string user, CancellationToken cancellationToken) =>
        (await CommandRunner.RunAsync(Command.Of("id", "-u", user), cancellationToken)).Succeeded;

    /// <summary>Gives a folder (recursively) to a service account; nothing happens when not root.</summary>
    public static async Task GiveAsync(string path, string user, CancellationToken cancellationToken)
    {
        if (Native.IsRoot)
        {
            await CommandRunner.RunCheckedAsync(Command.Of("chown", "-R", $"{user}:{user}", path), cancellationToken);
        }
    }
}
