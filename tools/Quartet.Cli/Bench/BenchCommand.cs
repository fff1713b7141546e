using System.ComponentModel;
using Quartet.Stack;

namespace Quartet.Cli.Bench;

/// <summary>
/// `./quartet bench`: the project's own load benchmark, through nginx, with wrk. Figures are printed,
/// never asserted: a shared machine is too noisy for that.
/// </summary>
internal sealed class BenchCommand(Cli cli)
{
    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = BenchOptions.Parse(args);
        if (options.Help)
        {
            Console.Write(BenchOptions.Usage);
            return 0;
        }
        Wrk.Find();
        var stack = cli.Native();
        if (options.Url is null)
        {
            if (!stack.Backend.IsRunning && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(WriteLimitSetting)))
            {
                // A stack the benchmark starts lets its one user write as fast as the load generator can.
                Environment.SetEnvironmentVariable(WriteLimitSetting, WriteLimit);
            }
            await stack.UpAsync(cancellationToken);
        }
        var url = (options.Url ?? stack.Settings.PublicUrl.ToString()).TrimEnd('/');
        if (options.IsAb && !stack.Backend.IsRunning)
        {
            throw new StackException("bench: --ab needs the native stack");
        }
        if (options.CompareNode && !options.IsAb && !stack.Backend.IsRunning)
        {
            throw new StackException("bench: --compare-node needs the native stack (./quartet up without Docker)");
        }

        using var folder = BenchFolder.Create();
        try
        {
            var wrk = await SetUpAsync(url, options.Load, folder.Path, cancellationToken);
            if (options.IsAb)
            {
                await new AbComparison(stack, wrk, folder.Path).RunAsync(options.Ab, options.AbApp, options.Rounds, cancellationToken);
                return 0;
            }
            var report = await MeasureAsync(stack, url, options.Load, wrk, options.CompareNode, folder.Path, cancellationToken);
            report.Print();
            if (options.Json is { } json)
            {
                await report.WriteJsonAsync(json, await CommitAsync(cancellationToken), cancellationToken);
                cli.Say($"bench: figures written to {json}");
            }
            return 0;
        }
        catch (StackException e)
        {
            throw new StackException(folder.KeepAndExplain(e));
        }
    }

    /// <summary>The backend's per-user write limit, which the create scenario and the setup would otherwise reach.</summary>
    public const string WriteLimitSetting = "WriteLimits__RequestsPerWindow";
    public const string WriteLimit = "1000000";

    /// <summary>The benchmark in smoke mode against a running native stack: true when every scenario ran.</summary>
    public async Task<bool> SmokeAsync(NativeStack stack, CancellationToken cancellationToken)
    {
        var url = stack.Settings.PublicUrl.ToString().TrimEnd('/');
        var load = BenchLoad.For(smoke: true, seconds: null);
        BenchReport report;
        using (var folder = BenchFolder.Create())
        {
            try
            {
                Wrk.Find();
                var wrk = await SetUpAsync(url, load, folder.Path, cancellationToken);
                report = await MeasureAsync(stack, url, load, wrk, compareNode: false, folder.Path, cancellationToken);
            }
            catch (StackException e)
            {
                cli.Error(folder.KeepAndExplain(e));
                return false;
            }
        }
        report.Print();
        var problems = SmokeProblems(report).ToList();
        foreach (var problem in problems)
        {
            cli.Error($"bench --smoke: {problem}");
        }
        return problems.Count == 0;
    }

    private static IEnumerable<string> SmokeProblems(BenchReport report)
    {
        foreach (var (name, result) in report.Scenarios)
        {
            if (result.Requests < 1)
            {
                yield return $"scenario {name} made no request";
            }
            if (result.SocketErrors > 0)
            {
                yield return $"scenario {name} had {result.SocketErrors} socket errors";
            }
            // Every answer should be a success: a lost session or CSRF token shows up here as 4xx.
            if (result.Non2xx > 0)
            {
                yield return $"scenario {name} had {result.Non2xx} answers that were not 2xx";
            }
        }
        if (report.ResidentMb is null)
        {
            yield return "the backend's resident memory was not measured (is the native backend running?)";
        }
        if (report.StartToReady.Milliseconds is null)
        {
            yield return $"start -> ready was not measured: {report.StartToReady.Failure}";
        }
    }

    /// <summary>A fresh user with its notes, and wrk loaded with its session.</summary>
    private async Task<Wrk> SetUpAsync(string url, BenchLoad load, string folder, CancellationToken cancellationToken)
    {
        cli.Say($"bench: {url}, {load.Connections} connections, {load.WarmupSeconds}s warm-up + {load.Seconds}s measured per scenario");
        var session = await BenchSession.CreateAsync(url, load.Notes, Path.Combine(folder, "ids"), cancellationToken);
        cli.Say($"bench: user {session.Email} with {load.Notes} notes");
        return new Wrk(cli.Root, load, session, folder);
    }

    /// <summary>Every scenario (the Node.js service's too when asked), then the backend's memory and start time.</summary>
    private async Task<BenchReport> MeasureAsync(NativeStack stack, string url, BenchLoad load, Wrk wrk, bool compareNode, string folder,
        CancellationToken cancellationToken)
    {
        var scenarios = new Dictionary<string, WrkResult>();
        // Against another URL than the native stack's, the stack's processes are not the ones loaded.
        var native = url == stack.Settings.PublicUrl.ToString().TrimEnd('/');
        Func<IReadOnlyDictionary<string, int?>> quartet = () => native ? Groups("backend", stack.Backend.Pid, stack.Nginx.Pid, stack) : new Dictionary<string, int?>();
        wrk.Processes = quartet;
        foreach (var scenario in Scenario.Reads)
        {
            scenarios[scenario.Name] = await wrk.RunAsync(scenario.Name, url, scenario, cancellationToken);
        }
        if (compareNode)
        {
            await using var node = await NodeComparison.StartAsync(cli, stack, folder, cancellationToken);
            wrk.Processes = () => Groups("node", node.Pids.Service, node.Pids.Nginx, stack);
            foreach (var scenario in Scenario.Reads)
            {
                scenarios[$"node-{scenario.Name}"] = await wrk.RunAsync($"node-{scenario.Name}", node.Url, scenario, cancellationToken);
            }
            wrk.Processes = quartet;
        }
        // Creating runs once, last of all: it adds thousands of notes to the user the read scenarios read.
        scenarios["create"] = await wrk.CreateAsync(url, cancellationToken);

        var resident = BackendFigures.ResidentMb(stack.Backend.Pid);
        var ready = resident is null
            ? new StartToReady(null, "no native backend is running")
            : await BackendFigures.StartToReadyAsync(stack, folder, cancellationToken);
        return new BenchReport(url, load, scenarios, resident, ready);
    }

    /// <summary>
    /// The process groups one service's requests run through: the service, its nginx, both Redis
    /// instances (state: sessions, throttles; cache: Quartet's read cache) and PostgreSQL.
    /// </summary>
    private static Dictionary<string, int?> Groups(string service, int? servicePid, int? nginxPid, NativeStack stack) => new()
    {
        [service] = servicePid,
        ["nginx"] = nginxPid,
        ["redis"] = stack.Redis.Pid,
        [CpuMeter.RedisCache] = stack.RedisCache.Pid,
        ["postgres"] = stack.Postgres.Pid,
    };

    private async Task<string> CommitAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await CommandRunner.RunAsync(new Command("git", ["-C", cli.Root, "rev-parse", "--short", "HEAD"]), cancellationToken);
            return result.Succeeded ? result.Output.Trim() : "unknown";
        }
        catch (Win32Exception)
        {
            return "unknown";
        }
    }
}
