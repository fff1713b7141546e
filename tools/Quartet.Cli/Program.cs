using Quartet.Cli;
using Quartet.Stack;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var cli = Cli.Create();
try
{
    return await cli.RunAsync(args, cancel.Token);
}
catch (StackException e)
{
    cli.Error(e.Message);
    return 1;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    cli.Error("interrupted");
    return 130;
}
