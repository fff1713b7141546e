using Quartet.Stack;
using Quartet.Stack.Backups;

namespace Quartet.Cli.Backups;

/// <summary>`./quartet backup`, `backups`, `restore` and `decrypt` for the native stack.</summary>
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

    public Task<int> ListAsync(string[] args, CancellationToken cancellationToken)
    {
        var verify = args is ["--verify"];
        return args.Length > 0 && !verify
            ? throw new StackException($"backups: unknown argument '{args[0]}' (only --verify)")
            : Backups(cli.Native()).Sets.PrintAsync(verify, cancellationToken);
    }

    public async Task<int> RestoreAsync(string[] args, CancellationToken cancellationToken)
    {
        var request = RestoreRequest.Parse(args);
        var stack = cli.Native();
        var set = await Backups(stack).RestoreAsync(request, cancellationToken);
        cli.Say($"restored from backup {set.Manifest.Id}; starting the stack");
        await stack.UpAsync(cancellationToken);
        return 0;
    }

    /// <summary>
    /// `./quartet decrypt FILE.enc OUTPUT`: one encrypted file of a set (the dump, for pg_restore into
    /// another PostgreSQL major version; or the snapshot) as plaintext, with the passphrase from the
    /// secrets folder. OUTPUT must not exist, and is made mode 600; a file that does not authenticate to
    /// its end leaves no OUTPUT behind.
    /// </summary>
    public async Task<int> DecryptAsync(string[] args, CancellationToken cancellationToken)
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
        var stack = cli.Native();
        var encryption = new BackupEncryption(stack.Secrets.PathOf(DevelopmentSecrets.BackupPassphrase), Path.Combine(stack.Layout.StateDirectory, "tmp"));
        await encryption.Files().DecryptFileAsync(input, output, cancellationToken);
        cli.Say($"decrypted {input} into {output} ({new FileInfo(output).Length} bytes, every chunk authenticated)");
        return 0;
    }

    private StackBackups Backups(NativeStack stack) => new(stack, cli.Say);
}
