using System.Diagnostics;

namespace Quartet.Stack;

/// <summary>
/// A program with its arguments, environment and user. <see cref="User"/> is a system account the
/// command switches to when this process is root (PostgreSQL and nginx must not run as root);
/// otherwise it runs as the caller.
/// </summary>
public sealed record Command(string Program, IReadOnlyList<string> Arguments)
{
    public string? User { get; init; }
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables to set; a null value removes the variable.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    public static Command Of(string program, params string[] arguments) => new(program, arguments);

    /// <summary>The argument vector as executed: behind setpriv when it must change user.</summary>
    public IReadOnlyList<string> Argv()
    {
        if (User is null || !Native.IsRoot)
        {
            return [Program, .. Arguments];
        }
        return ["setpriv", $"--reuid={User}", $"--regid={User}", "--clear-groups", "--", Program, .. Arguments];
    }

    public ProcessStartInfo StartInfo(IReadOnlyList<string>? prefix = null)
    {
        IReadOnlyList<string> argv = [.. prefix ?? [], .. Argv()];
        var info = new ProcessStartInfo(argv[0]) { UseShellExecute = false };
        foreach (var argument in argv.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }
        if (WorkingDirectory is not null)
        {
            info.WorkingDirectory = WorkingDirectory;
        }
        foreach (var (key, value) in Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }
        return info;
    }

    public override string ToString() => string.Join(' ', Argv());
}

public sealed record CommandResult(int ExitCode, string Output, string Error)
{
    public bool Succeeded => ExitCode == 0;
}

public static class CommandRunner
{
    /// <summary>Runs a command to its end and returns what it printed; killed after <paramref name="timeout"/>.</summary>
    public static async Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken, string? input = null, TimeSpan? timeout = null)
    {
        var info = command.StartInfo();
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        using var process = Process.Start(info) ?? throw new StackException($"could not start {command.Program}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken);
        }
        process.StandardInput.Close();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout ?? TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw cancellationToken.IsCancellationRequested
                ? new OperationCanceledException(cancellationToken)
                : new StackException($"{command.Program} did not finish within {(timeout ?? TimeSpan.FromMinutes(10)).TotalSeconds:0} s");
        }
        return new CommandResult(process.ExitCode, await output, await error);
    }

    /// <summary>Runs a command and fails with its last lines of output when it exits non-zero.</summary>
    public static async Task<CommandResult> RunCheckedAsync(Command command, CancellationToken cancellationToken, string? input = null, TimeSpan? timeout = null)
    {
        var result = await RunAsync(command, cancellationToken, input, timeout);
        if (!result.Succeeded)
        {
            var tail = string.Join('\n', (result.Output + result.Error).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(15));
            throw new StackException($"{Path.GetFileName(command.Program)} exited with {result.ExitCode}:\n{tail}");
        }
        return result;
    }
}
