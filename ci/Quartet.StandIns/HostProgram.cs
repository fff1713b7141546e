using System.Diagnostics;

namespace Quartet.StandIns;

/// <summary>Programs of this host the stand-ins are made from: debootstrap, dotnet, node and npm.</summary>
internal static class HostProgram
{
    public static string? OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"])
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary>Where a program on PATH really is, symbolic links resolved.</summary>
    public static string? RealPath(string program) =>
        OnPath(program) is { } path ? File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path : null;

    /// <summary>
    /// What the program printed on standard output, as printed; throws with its last lines of output
    /// when it fails. Everything it printed also goes to <paramref name="log"/>.
    /// </summary>
    public static async Task<string> OutputAsync(string program, IEnumerable<string> arguments, CancellationToken cancellationToken,
        TextWriter? log = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        var shown = $"{program} {string.Join(' ', info.ArgumentList)}";
        using var process = Process.Start(info) ?? throw new StandInException($"could not start {program}");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout ?? TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            throw new StandInException($"{shown} did not finish within {(timeout ?? TimeSpan.FromMinutes(1)).TotalSeconds:0} s");
        }
        var (stdout, stderr) = (await output, await error);
        if (log is not null)
        {
            await log.WriteAsync($"$ {shown}\n{stdout}{stderr}".AsMemory(), cancellationToken);
        }
        if (process.ExitCode != 0)
        {
            var tail = string.Join('\n', (stdout + stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(20));
            throw new StandInException($"{shown} exited with {process.ExitCode}\n{tail}");
        }
        return stdout;
    }
}
