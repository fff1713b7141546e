namespace Quartet.Stack;

/// <summary>The backend published into the state folder, again whenever its sources are newer.</summary>
internal sealed class BackendPublish(StackLayout layout, Action<string> say)
{
    private string Stamp => Path.Combine(layout.AppDirectory, ".published");

    public async Task EnsureAsync(bool backendRunning, CancellationToken cancellationToken)
    {
        if (!Needed())
        {
            return;
        }
        if (backendRunning && File.Exists(layout.AppAssembly))
        {
            say("warning: sources changed but the backend is running; './quartet down && ./quartet up' rebuilds it");
            return;
        }
        var log = Path.Combine(layout.LogDirectory, "publish.log");
        say($"publishing the backend to {layout.AppDirectory} (log: {log})");
        var started = DateTime.UtcNow;
        var command = new Command("dotnet", ["publish", Path.Combine(layout.Root, "src", "Quartet.Api", "Quartet.Api.csproj"), "-c", "Release",
            "-r", NativeStack.RuntimeIdentifier, "-o", layout.AppDirectory, "--nologo", "--disable-build-servers"]);
        var result = await CommandRunner.RunAsync(command, cancellationToken);
        await File.WriteAllTextAsync(log, result.Output + result.Error, cancellationToken);
        if (!result.Succeeded)
        {
            var errors = result.Output.Split('\n').Where(l => l.Contains(": error ", StringComparison.Ordinal)).Distinct().Take(20);
            throw new StackException($"dotnet publish failed; see {log}\n{string.Join('\n', errors)}");
        }
        await File.WriteAllTextAsync(Stamp, "", cancellationToken);
        File.SetLastWriteTimeUtc(Stamp, started);
    }

    private bool Needed()
    {
        if (!File.Exists(layout.AppAssembly) || !File.Exists(Stamp))
        {
            return true;
        }
        var stamp = File.GetLastWriteTimeUtc(Stamp);
        return Sources.NewerThan(stamp, layout.Root, "src/Quartet.Api", "db/migrations", "Directory.Build.props", "Directory.Packages.props", "global.json");
    }
}

internal static class Sources
{
    /// <summary>Some file under the given paths (bin/ and obj/ aside) was written after <paramref name="time"/>.</summary>
    public static bool NewerThan(DateTime time, string root, params string[] paths)
    {
        foreach (var path in paths.Select(p => Path.Combine(root, p)))
        {
            if (File.Exists(path) && File.GetLastWriteTimeUtc(path) > time)
            {
                return true;
            }
            if (Directory.Exists(path) && Files(path).Any(f => File.GetLastWriteTimeUtc(f) > time))
            {
                return true;
            }
        }
        return false;
    }

    private static IEnumerable<string> Files(string dir)
    {
        foreach (var file in Directory.EnumerateFiles(dir))
        {
            yield return file;
        }
        foreach (var sub in Directory.EnumerateDirectories(dir).Where(d => Path.GetFileName(d) is not ("bin" or "obj" or "node_modules" or "dist")))
        {
            foreach (var file in Files(sub))
            {
                yield return file;
            }
        }
    }
}
