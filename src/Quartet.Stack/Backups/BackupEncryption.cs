namespace Quartet.Stack.Backups;

/// <summary>
/// Encryption at rest of a native stack's backups (QUARTET_BACKUP_ENCRYPTION=on): pgBackRest encrypts its
/// repository (<see cref="RepositoryCipher"/>, with the passphrase only ever in its environment, never in
/// pgbackrest.conf), and each set's dump and Redis snapshot are stored as <c>.enc</c> files in
/// <see cref="SetEncryption"/>'s format. The passphrase is the secret <see cref="Secret"/>; decrypted copies
/// are made in a private folder of the state folder (<see cref="NewScratch"/>), never beside the backups.
/// </summary>
public sealed class BackupEncryption(string passphraseFile, string scratchParent)
{
    public const string Setting = "QUARTET_BACKUP_ENCRYPTION";
    public const string Secret = "backup_passphrase";
    public const string RepositoryCipher = "aes-256-cbc";
    /// <summary>pgBackRest reads its repository's passphrase from here, so it never sits in the configuration file.</summary>
    public const string PassphraseVariable = "PGBACKREST_REPO1_CIPHER_PASS";
    /// <summary>The cipher's name for pgBackRest where its configuration file is baked into an image (compose, Swarm).</summary>
    public const string CipherTypeVariable = "PGBACKREST_REPO1_CIPHER_TYPE";
    public const string Suffix = ".enc";

    public string PassphraseFile => passphraseFile;

    /// <summary>QUARTET_BACKUP_ENCRYPTION: on or off (the default).</summary>
    public static bool FromEnvironment() => Parse(Environment.GetEnvironmentVariable(Setting));

    public static bool Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "off" => false,
        "on" => true,
        _ => throw new StackException($"{Setting} must be on or off, not '{text}'"),
    };

    public bool HasPassphrase => new FileInfo(passphraseFile) is { Exists: true, Length: > 0 };

    /// <summary>The passphrase; its absence stops with one line saying where it belongs.</summary>
    public string Passphrase => HasPassphrase
        ? File.ReadAllText(passphraseFile).TrimEnd('\n')
        : throw new StackException($"the backups are encrypted and their passphrase is missing: put the {Secret} secret (the copy kept off this machine) in {passphraseFile}");

    /// <summary>What pgBackRest needs in its environment, and PostgreSQL in its own for archive_command and restore_command.</summary>
    public IReadOnlyDictionary<string, string?> PgBackRestEnvironment() =>
        new Dictionary<string, string?> { [CipherTypeVariable] = RepositoryCipher, [PassphraseVariable] = Passphrase };

    public SetEncryption Files() => new(Passphrase);

    /// <summary>
    /// The plaintext files of a new set (written in a <see cref="Scratch"/>) encrypted into the set's folder as
    /// <c>NAME.enc</c>; the plaintext never enters it.
    /// </summary>
    public async Task SealAsync(IEnumerable<string> plaintexts, string setDirectory, Action<string> say, CancellationToken cancellationToken)
    {
        say($"encrypting the dump and the snapshot ({SetEncryption.Algorithm})");
        var files = Files();
        foreach (var plaintext in plaintexts)
        {
            await files.EncryptFileAsync(plaintext, Path.Combine(setDirectory, Path.GetFileName(plaintext) + Suffix), cancellationToken);
        }
    }

    /// <summary>A new private folder (mode 700) for decrypted copies, removed with everything in it when disposed.</summary>
    public Scratch NewScratch()
    {
        System.IO.Directory.CreateDirectory(scratchParent);
        File.SetUnixFileMode(scratchParent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Path.Combine(scratchParent, "decrypted-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return new Scratch(path);
    }

    /// <summary>A private folder of decrypted copies; disposing it deletes them.</summary>
    public sealed class Scratch(string directory) : IDisposable
    {
        public string Directory => directory;

        public string PathOf(string name) => Path.Combine(directory, name);

        public void Dispose()
        {
            if (System.IO.Directory.Exists(directory))
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }
        }
    }
}
