namespace Quartet.Stack.Backups;

/// <summary>
/// <c>./quartet decrypt FILE.enc OUTPUT</c>: one encrypted file of a set (the dump, for pg_restore into
/// another PostgreSQL major version; or the snapshot) as plaintext, with the passphrase from the secrets
/// folder. OUTPUT must not exist, and is made mode 600; a file that does not authenticate to its end leaves
/// no OUTPUT behind. It needs neither a running stack nor QUARTET_BACKUP_ENCRYPTION.
/// </summary>
public static class DecryptCommand
{
    /// <summary>Decrypts as the arguments say; every refusal is a <see cref="StackException"/> of one line.</summary>
    /// <param name="args">FILE.enc and OUTPUT.</param>
    /// <param name="encryption">Where the passphrase is and where scratch files go; asked for only once the arguments are good.</param>
    /// <param name="say">Where the line that reports the result goes.</param>
    /// <param name="cancellationToken">Stops the decryption (and removes the partial OUTPUT).</param>
    public static async Task RunAsync(IReadOnlyList<string> args, Func<BackupEncryption> encryption, Action<string> say, CancellationToken cancellationToken)
    {
        if (args is not [var input, var output])
        {
            throw new StackException("decrypt takes two arguments: an encrypted file of a backup set (quartet.dump.enc, redis.rdb.enc) and the file to write");
        }
        if (!File.Exists(input))
        {
            throw new StackException($"decrypt: {input} does not exist");
        }
        if (File.Exists(output) || Directory.Exists(output))
        {
            throw new StackException($"decrypt: {output} exists already; name a new file");
        }
        await encryption().Files().DecryptFileAsync(input, output, cancellationToken);
        say($"decrypted {input} into {output} ({new FileInfo(output).Length} bytes, every chunk authenticated)");
    }
}
