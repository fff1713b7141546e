using System.Diagnostics;
using System.Text;

namespace Quartet.Deploy.Tests.Compose;

public sealed record HostCommandResult(string Command, int ExitCode, string Output)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>The last lines it printed, for a failure message.</summary>
    public string Tail(int lines = 15) =>
        string.Join('\n', Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(lines));
}

/// <summary>Runs a program of this host as an operator would, with no terminal, its output going to the log as it comes.</summary>
public static class HostCommand
{
    public static async Task<HostCommandResult> RunAsync(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string?> environment,
        string workingDirectory, ComposeLog log, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var shown = string.Join(' ', argv);
        log.Say($"$ {shown}");
        var info = new ProcessStartInfo(argv[0])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in argv.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        var output = new StringBuilder();
        void Collect(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }
            lock (output)
            {
                output.Append(e.Data).Append('\n');
            }
            log.Write(e.Data);
        }

        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += Collect;
        process.ErrorDataReceived += Collect;
        var started = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            log.Say($"{argv[0]} did not finish within {timeout.TotalSeconds:0} s; killed");
            return new HostCommandResult(shown, -1, output.ToString());
        }
        // The asynchronous readers have seen the end of both streams once this returns.
        process.WaitForExit();
        log.Say($"exit {process.ExitCode} after {started.Elapsed.TotalSeconds:0} s: {shown}");
        lock (output)
        {
            return new HostCommandResult(shown, process.ExitCode, output.ToString());
        }
    }
}
