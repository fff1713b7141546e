using System.Diagnostics;
using Quartet.Cli.Bench;
using Quartet.Stack;

namespace Quartet.Cli.Testing;

/// <summary>
/// `./quartet test [SUITE...]`: every suite in turn, each counted from its runner's report file, then
/// one closing line `N passed, N failed`. A suite that cannot run counts as one failure; the others
/// still run. Suites never touch the developer's own stack (its ports, its state folder).
/// </summary>
internal sealed class TestCommand(Cli cli)
{
    public static readonly string[] Suites = ["shell", "backend", "deploy", "web", "e2e"];

    private readonly string _results = Path.Combine(StackLayout.For(cli.Root).LogDirectory, "test-results");
    private bool _built;

    private string LogFile(string suite) => Path.Combine(_results, $"{suite}.log");

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var chosen = args.Length > 0 ? args : Suites;
        foreach (var suite in chosen.Where(s => !Suites.Contains(s)))
        {
            throw new StackException($"unknown test suite '{suite}' (suites: {string.Join(' ', Suites)})");
        }
        RemoveStaleTestFolders();
        Directory.CreateDirectory(_results);

        var total = SuiteResult.None;
        var times = new List<string>();
        foreach (var suite in chosen)
        {
            cli.Say($"suite {suite} (log: {LogFile(suite)})");
            var clock = Stopwatch.StartNew();
            SuiteResult result;
            try
            {
                result = suite switch
                {
                    "shell" => await ShellAsync(cancellationToken),
                    "backend" => await DotnetTestAsync("backend", "tests/Quartet.Api.Tests", cancellationToken),
                    "deploy" => await DotnetTestAsync("deploy", "tests/Quartet.Deploy.Tests", cancellationToken),
                    "web" => await WebAsync(cancellationToken),
                    _ => await EndToEndAsync(cancellationToken),
                };
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A suite that cannot run is one failure; the others still run.
                cli.Error($"{suite}: {(e is StackException ? e.Message : e.ToString())}");
                result = SuiteResult.Fail;
            }
            cli.Say($"{suite}: {result} in {clock.Elapsed.TotalSeconds:0} s");
            times.Add($"{suite} {clock.Elapsed.TotalSeconds:0} s");
            total += result;
        }
        cli.Say($"suite times: {string.Join(", ", times)}");
        Console.WriteLine(total.ToString());
        return total.Failed == 0 ? 0 : 1;
    }

    /// <summary>shellcheck over every shell script git tracks: one test.</summary>
    private async Task<SuiteResult> ShellAsync(CancellationToken cancellationToken)
    {
        var listed = await CommandRunner.RunCheckedAsync(new Command("git", ["-C", cli.Root, "ls-files"]), cancellationToken);
        var scripts = listed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(f => f.EndsWith(".sh", StringComparison.Ordinal) || f.EndsWith(".envsh", StringComparison.Ordinal) || f is "quartet" or ".ci/run").ToArray();
        cli.Say($"shellcheck {string.Join(' ', scripts)}");
        var result = await CommandRunner.RunAsync(new Command("shellcheck", ["-x", .. scripts]) { WorkingDirectory = cli.Root }, cancellationToken);
        await File.WriteAllTextAsync(LogFile("shell"), result.Output + result.Error, cancellationToken);
        Console.Write(result.Output);
        return result.Succeeded ? SuiteResult.Pass : SuiteResult.Fail;
    }

    /// <summary>One test project through Microsoft.Testing.Platform, counted from its TRX report.</summary>
    private async Task<SuiteResult> DotnetTestAsync(string suite, string project, CancellationToken cancellationToken)
    {
        await BuildAsync(cancellationToken);
        var reports = Path.Combine(_results, suite);
        if (Directory.Exists(reports))
        {
            Directory.Delete(reports, recursive: true);
        }
        var exit = await StreamAsync(suite, new Command("dotnet", ["test", "--project", project, "-c", "Release", "--no-build",
            "--report-xunit-trx", "--results-directory", reports]) { WorkingDirectory = cli.Root, Environment = DotnetEnvironment }, cancellationToken);
        var trx = Directory.Exists(reports) ? Directory.GetFiles(reports, "*.trx", SearchOption.AllDirectories) : [];
        if (trx.Length == 0)
        {
            cli.Error($"{suite}: the test run wrote no report (exit {exit}); see {LogFile(suite)}");
            return SuiteResult.Fail;
        }
        var result = trx.Select(SuiteResult.FromTrx).Aggregate(SuiteResult.None, (a, b) => a + b);
        foreach (var line in trx.SelectMany(SuiteResult.ReportLines))
        {
            cli.Say(line);
        }
        if (exit != 0 && result.Failed == 0)
        {
            cli.Error($"{suite}: the test process exited with {exit} although no test failed; counting one failure");
            result += SuiteResult.Fail;
        }
        return result;
    }

    private static readonly Dictionary<string, string?> DotnetEnvironment = new()
    {
        // No build servers outliving the run.
        ["MSBUILDDISABLENODEREUSE"] = "1",
        ["UseSharedCompilation"] = "false",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
    };

    private async Task BuildAsync(CancellationToken cancellationToken)
    {
        if (_built)
        {
            return;
        }
        var result = await CommandRunner.RunAsync(new Command("dotnet", ["build", "Quartet.slnx", "-c", "Release", "--nologo"])
        {
            WorkingDirectory = cli.Root,
            Environment = DotnetEnvironment,
        }, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(_results, "build.log"), result.Output + result.Error, cancellationToken);
        if (!result.Succeeded)
        {
            var errors = result.Output.Split('\n').Where(l => l.Contains(": error ", StringComparison.Ordinal)).Distinct().Take(20);
            throw new StackException($"dotnet build failed:\n{string.Join('\n', errors)}");
        }
        _built = true;
    }

    /// <summary>The web UI's own checks: install, the API client up to date, the type-checked build (one test each), then Vitest.</summary>
    private async Task<SuiteResult> WebAsync(CancellationToken cancellationToken)
    {
        var web = Path.Combine(cli.Root, "web");
        var install = new WebBuild(StackLayout.For(cli.Root), cli.Say);
        await install.InstallAsync(cancellationToken);
        var result = SuiteResult.None;
        foreach (var step in (string[])["check:api", "build"])
        {
            var started = DateTime.UtcNow;
            var exit = await StreamAsync("web", new Command("npm", ["run", step]) { WorkingDirectory = web }, cancellationToken);
            if (step == "build" && exit == 0)
            {
                install.MarkBuilt(started);
            }
            cli.Say($"web: {step} {(exit == 0 ? "passed" : "FAILED")}");
            result += exit == 0 ? SuiteResult.Pass : SuiteResult.Fail;
        }
        var report = Path.Combine(web, "test-results", "vitest.json");
        DeleteIfThere(report);
        await StreamAsync("web", new Command("npm", ["test"]) { WorkingDirectory = web }, cancellationToken);
        if (!File.Exists(report))
        {
            cli.Error("web: Vitest wrote no report");
            return result + SuiteResult.Fail;
        }
        return result + SuiteResult.FromVitest(report);
    }

    /// <summary>
    /// Playwright in Debian's Chromium against a whole private stack (nginx, backend, PostgreSQL,
    /// Redis, the mail catcher) on free ports, started by the same code as `./quartet up`; then the benchmark's smoke
    /// mode on the same stack (one test). Everything is stopped and removed afterwards.
    /// </summary>
    private async Task<SuiteResult> EndToEndAsync(CancellationToken cancellationToken)
    {
        // The state folder sits in a private folder (mode 700, like a home folder) whose name has a
        // space: the servers must still start, as their own accounts when this runs as root.
        var folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "quartet-tests", $"{Environment.ProcessId}-e2e-{Guid.NewGuid():N}"[..24])).FullName;
        var home = Directory.CreateDirectory(Path.Combine(folder, "private home")).FullName;
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var state = Path.Combine(home, "state");
        var data = Stack.Native.IsRoot ? Path.Combine(folder, "data") : state;
        const string admin = "admin@e2e.quartet.localhost";
        // The smoke benchmark at the end writes as one user as fast as it can: above the per-user write limit.
        var settings = StackSettings.Private(admin) with { BackendSettings = new Dictionary<string, string> { [BenchCommand.WriteLimitSetting] = BenchCommand.WriteLimit } };
        var stack = new NativeStack(new StackLayout(cli.Root, state, data), settings, m => cli.Say("e2e: " + m), detached: false);
        try
        {
            await stack.UpAsync(cancellationToken);
            var web = Path.Combine(cli.Root, "web");
            var report = Path.Combine(web, "test-results", "e2e.json");
            DeleteIfThere(report);
            await StreamAsync("e2e", new Command("npm", ["run", "e2e"])
            {
                WorkingDirectory = web,
                Environment = new Dictionary<string, string?>
                {
                    ["QUARTET_E2E_URL"] = stack.Settings.PublicUrl.ToString().TrimEnd('/'),
                    ["QUARTET_E2E_ADMIN_EMAIL"] = admin,
                    ["QUARTET_E2E_ADMIN_PASSWORD_FILE"] = stack.Secrets.PathOf("admin_password"),
                    ["QUARTET_E2E_MAIL_URL"] = stack.Settings.MailUrl.ToString().TrimEnd('/'),
                },
            }, cancellationToken);
            var result = File.Exists(report) ? SuiteResult.FromPlaywright(report) : SuiteResult.Fail;
            if (!File.Exists(report))
            {
                cli.Error("e2e: Playwright wrote no report");
            }
            var bench = await new BenchCommand(cli).SmokeAsync(stack, cancellationToken);
            cli.Say($"e2e: bench --smoke {(bench ? "passed" : "FAILED")}");
            return result + (bench ? SuiteResult.Pass : SuiteResult.Fail);
        }
        finally
        {
            await stack.DownAsync(CancellationToken.None);
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>`./quartet openapi`: rewrites docs/openapi.json from the live document (the drift test then passes).</summary>
    public async Task<int> RefreshOpenApiAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_results);
        await BuildAsync(cancellationToken);
        cli.Say("refreshing docs/openapi.json from GET /api/openapi.json");
        var exit = await StreamAsync("openapi", new Command("dotnet", ["test", "--project", "tests/Quartet.Api.Tests", "-c", "Release", "--no-build",
            "--filter-class", "*.OpenApiDocumentTests"])
        {
            WorkingDirectory = cli.Root,
            Environment = new Dictionary<string, string?>(DotnetEnvironment) { ["QUARTET_UPDATE_OPENAPI"] = "1" },
        }, cancellationToken);
        if (exit != 0)
        {
            throw new StackException("could not refresh docs/openapi.json");
        }
        cli.Say("docs/openapi.json is current");
        return 0;
    }

    /// <summary>Runs a command with its output shown (the app's JSON log lines only in the log file) and appended to the suite's log.</summary>
    private async Task<int> StreamAsync(string suite, Command command, CancellationToken cancellationToken)
    {
        var info = command.StartInfo();
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        await using var log = new StreamWriter(LogFile(suite), append: true);
        var gate = new object();
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (gate)
            {
                log.WriteLine(line);
                if (!line.TrimStart().StartsWith("{\"", StringComparison.Ordinal))
                {
                    Console.WriteLine(line);
                }
            }
        }
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return process.ExitCode;
    }

    /// <summary>A runner's previous report, so a run that writes none is not counted from it.</summary>
    private static void DeleteIfThere(string file)
    {
        if (File.Exists(file))
        {
            File.Delete(file);
        }
    }

    /// <summary>Test folders in the temp folder whose test process has ended (killed runs leave them).</summary>
    private void RemoveStaleTestFolders()
    {
        var root = Path.Combine(Path.GetTempPath(), "quartet-tests");
        if (!Directory.Exists(root))
        {
            return;
        }
        foreach (var dir in Directory.GetDirectories(root))
        {
            var name = Path.GetFileName(dir);
            if (int.TryParse(name.Split('-')[0], out var pid) && !Stack.Native.IsAlive(pid))
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    cli.Say($"could not remove {dir}: {e.Message}");
                }
            }
        }
    }
}
