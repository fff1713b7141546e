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

    /// <summary>`./quartet decrypt FILE.enc OUTPUT` (<see cref="DecryptCommand"/>), with the passphrase from this checkout's secrets folder.</summary>
    public async Task<int> DecryptAsync(string[] args, CancellationToken cancellationToken)
    {
        await DecryptCommand.RunAsync(args, () =>
        {
            var stack = cli.Native();
            return new BackupEncryption(stack.Secrets.PathOf(DevelopmentSecrets.BackupPassphrase), Path.Combine(stack.Layout.StateDirectory, "tmp"));
        }, cli.Say, cancellationToken);
        return 0;
    }

    private StackBackups Backups(NativeStack stack) => new(stack, cli.Say);
}
