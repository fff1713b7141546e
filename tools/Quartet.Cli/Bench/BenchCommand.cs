namespace Quartet.Cli.Bench;

/// <summary>`./quartet bench`: the load benchmark through nginx.</summary>
internal sealed class BenchCommand(Cli cli)
{
    public Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        cli.Say($"bench {string.Join(' ', args)}: not built yet");
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(1);
    }

    /// <summary>The benchmark in smoke mode against a running native stack: true when every scenario ran.</summary>
    public Task<bool> SmokeAsync(Quartet.Stack.NativeStack stack, CancellationToken cancellationToken)
    {
        cli.Say($"bench --smoke against {stack.Settings.PublicUrl}: not built yet");
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(false);
    }
}
