using System.Security.Cryptography;

namespace Quartet.Stack;

/// <summary>
/// The secrets of a native (development) stack, in the state folder's secrets/: made once with fresh
/// random values, never overwritten, mode 600 with no trailing newline. The admin password is kept in
/// plain text here (it is a development stack); the backend only ever sees its hash.
/// </summary>
public sealed class DevelopmentSecrets(StackLayout layout)
{
    /// <summary>redis_admin_password is the operator's (backups, inspection with redis-cli); the backend never reads it.</summary>
    public static readonly string[] Names = ["db_password", "db_owner_password", "db_app_password", "redis_password", "redis_admin_password", "session_secret", "jwt_secret", "admin_password"];

    /// <summary>The backups' passphrase: made only when QUARTET_BACKUP_ENCRYPTION is on (<see cref="EnsureBackupPassphrase"/>).</summary>
    public const string BackupPassphrase = "backup_passphrase";

    public string PathOf(string name) => Path.Combine(layout.SecretsDirectory, name);

    public string Read(string name) => File.Exists(PathOf(name)) ? File.ReadAllText(PathOf(name)).TrimEnd('\n') : "";

    /// <summary>Creates the missing secrets and returns their names; the hash needs the published backend.</summary>
    public async Task<IReadOnlyList<string>> EnsureAsync(CancellationToken cancellationToken)
    {
        layout.Create();
        var created = new List<string>();
        foreach (var name in Names)
        {
            if (new FileInfo(PathOf(name)) is { Exists: true, Length: > 0 })
            {
                continue;
            }
            Write(name, name switch
            {
                "session_secret" => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
                "jwt_secret" => Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)),
                "admin_password" => RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 20),
                _ => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            });
            created.Add(name);
        }

        var hash = new FileInfo(PathOf("admin_password_hash"));
        if (!hash.Exists || hash.Length == 0 || File.GetLastWriteTimeUtc(PathOf("admin_password")) > hash.LastWriteTimeUtc)
        {
            if (!File.Exists(layout.AppAssembly))
            {
                throw new StackException($"cannot hash the admin password: {layout.AppAssembly} is missing");
            }
            var result = await CommandRunner.RunCheckedAsync(BackendServer.Run(new Dictionary<string, string?>(), layout.AppAssembly, null, "hash-password"),
                cancellationToken, input: Read("admin_password"));
            var line = result.Output.Trim();
            if (line.Length == 0 || line.Contains('\n', StringComparison.Ordinal))
            {
                throw new StackException("'hash-password' did not print exactly one line; cannot create admin_password_hash");
            }
            Write("admin_password_hash", line);
            created.Add("admin_password_hash");
        }
        return created;
    }

    /// <summary>Creates the backups' passphrase unless it exists; true when it was made now.</summary>
    public bool EnsureBackupPassphrase()
    {
        if (new FileInfo(PathOf(BackupPassphrase)) is { Exists: true, Length: > 0 })
        {
            return false;
        }
        layout.Create();
        Write(BackupPassphrase, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        return true;
    }

    private void Write(string name, string value)
    {
        var temporary = Path.Combine(layout.SecretsDirectory, $".{name}.{Guid.NewGuid():N}");
        File.WriteAllText(temporary, "");
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(temporary, value);
        File.Move(temporary, PathOf(name), overwrite: true);
    }
}
