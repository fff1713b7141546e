namespace Quartet.Stack;

/// <summary>The web UI built from web/: `npm ci` when the lock file changed, `vite build` when a source did.</summary>
public sealed class WebBuild(StackLayout layout, Action<string> say)
{
    private string Dist => Path.Combine(layout.WebDirectory, "dist");
    private string Stamp => Path.Combine(Dist, ".quartet-built");
    private string Log => Path.Combine(layout.LogDirectory, "web-build.log");

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(layout.WebDirectory, "package.json")))
        {
            throw new StackException("web/package.json is missing; the web UI cannot be built");
        }
        await InstallAsync(cancellationToken);
        if (File.Exists(Stamp) && !Sources.NewerThan(File.GetLastWriteTimeUtc(Stamp), layout.Root,
            "web/src", "web/index.html", "web/package.json", "web/vite.config.ts", "docs/openapi.json"))
        {
            return;
        }
        say($"building the web UI into {Dist} (log: {Log})");
        var started = DateTime.UtcNow;
        await NpmAsync(cancellationToken, "run", "build");
        MarkBuilt(started);
    }

    /// <summary>Records a build made from the sources as they were at <paramref name="started"/>.</summary>
    public void MarkBuilt(DateTime started)
    {
        File.WriteAllText(Stamp, "");
        File.SetLastWriteTimeUtc(Stamp, started);
    }

    /// <summary>`npm ci` unless node_modules matches the lock file already.</summary>
    public async Task InstallAsync(CancellationToken cancellationToken)
    {
        var installed = Path.Combine(layout.WebDirectory, "node_modules", ".package-lock.json");
        if (File.Exists(installed) && File.GetLastWriteTimeUtc(installed) >= File.GetLastWriteTimeUtc(Path.Combine(layout.WebDirectory, "package-lock.json")))
        {
            return;
        }
        say($"installing the web UI's packages (log: {Log})");
        await NpmAsync(cancellationToken, "ci", "--no-audit", "--no-fund");
    }

    private async Task NpmAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        Directory.CreateDirectory(layout.LogDirectory);
        var command = new Command("npm", arguments)
        {
            WorkingDirectory = layout.WebDirectory,
            Environment = new Dictionary<string, string?> { ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1" },
        };
        var result = await CommandRunner.RunAsync(command, cancellationToken);
        await File.AppendAllTextAsync(Log, result.Output + result.Error, cancellationToken);
        if (!result.Succeeded)
        {
            var tail = string.Join('\n', (result.Output + result.Error).Split('\n').TakeLast(20));
            throw new StackException($"npm {string.Join(' ', arguments)} failed in web/; see {Log}\n{tail}");
        }
    }
}
