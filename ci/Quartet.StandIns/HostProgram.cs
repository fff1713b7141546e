using Quartet.Stack;

namespace Quartet.StandIns;

/// <summary>Programs of this host the stand-ins are made from: debootstrap, dotnet, node and npm.</summary>
internal static class HostProgram
{
    public static string? OnPath(string program) => Tools.OnPath(program);

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
        var command = new Command(program, [.. arguments]);
        var result = await CommandRunner.RunAsync(command, cancellationToken, timeout: timeout ?? TimeSpan.FromMinutes(1));
        if (log is not null)
        {
            await log.WriteAsync($"$ {command}\n{result.Output}{result.Error}".AsMemory(), cancellationToken);
        }
        if (!result.Succeeded)
        {
            var tail = string.Join('\n', (result.Output + result.Error).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(20));
            throw new StandInException($"{command} exited with {result.ExitCode}\n{tail}");
        }
        return result.Output;
    }
}
