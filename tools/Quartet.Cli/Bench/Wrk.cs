using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Quartet.Stack;

namespace Quartet.Cli.Bench;

/// <summary>The figures of one measured run, as bench/wrk/scenario.lua's done() writes them.</summary>
internal sealed record WrkResult(
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("rps")] double Rps,
    [property: JsonPropertyName("p50_ms")] double P50Ms,
    [property: JsonPropertyName("p99_ms")] double P99Ms,
    [property: JsonPropertyName("max_ms")] double MaxMs,
    [property: JsonPropertyName("non2xx")] long Non2xx,
    [property: JsonPropertyName("socket_errors")] long SocketErrors)
{
    /// <summary>Microseconds of CPU per request by process group during the measured run (<see cref="CpuMeter"/>).</summary>
    [JsonPropertyName("cpu_us_per_request")]
    public IReadOnlyDictionary<string, double> CpuPerRequest { get; init; } = new Dictionary<string, double>();

    /// <summary>Failed responses as the table counts them: 4xx/5xx and socket errors.</summary>
    [JsonIgnore]
    public long Failed => Non2xx + SocketErrors;
}

/// <summary>One read scenario: GET a path, or GET path + id cycling over the user's note ids.</summary>
internal sealed record Scenario(string Name, string Path, bool ById = false)
{
    public static readonly Scenario[] Reads =
    [
        new("health", "/health/live"),
        new("list", "/api/notes?limit=20"),
        new("get", "/api/notes/", ById: true),
        new("search", $"/api/notes?limit=20&q={BenchSession.SearchWord}"),
    ];
}

/// <summary>
/// wrk with bench/wrk/scenario.lua: a warm-up, then the measured run whose figures it returns. The
/// script's settings travel in BENCH_* variables; its report lands in the bench folder.
/// </summary>
internal sealed class Wrk(string root, BenchLoad load, BenchSession session, string folder)
{
    /// <summary>The process groups whose CPU time the measured runs count: root pids by name.</summary>
    public Func<IReadOnlyDictionary<string, int?>> Processes { get; set; } = () => new Dictionary<string, int?>();

    private readonly string _program = Find();
    private readonly string _script = Script(root);

    /// <summary>wrk on this machine; a clear error naming the package otherwise.</summary>
    public static string Find() => Tools.Find(null, "wrk", "wrk (apt-get install wrk)");

    /// <summary>A read scenario against a target (a Quartet, or an nginx in front of a compared service).</summary>
    public Task<WrkResult> RunAsync(string name, string target, Scenario scenario, CancellationToken cancellationToken) =>
        RunAsync(name, target + scenario.Path, "GET", scenario.ById ? session.IdsFile : "", cancellationToken);

    /// <summary>POST /api/notes with the CSRF header: every request creates a note.</summary>
    public Task<WrkResult> CreateAsync(string target, CancellationToken cancellationToken) =>
        RunAsync("create", target + "/api/notes", "POST", "", cancellationToken);

    private async Task<WrkResult> RunAsync(string name, string url, string method, string ids, CancellationToken cancellationToken)
    {
        await RunOnceAsync(name, "warmup", load.WarmupSeconds, url, method, ids, cancellationToken);
        return await RunOnceAsync(name, "measure", load.Seconds, url, method, ids, cancellationToken);
    }

    private async Task<WrkResult> RunOnceAsync(string name, string phase, int seconds, string url, string method, string ids, CancellationToken cancellationToken)
    {
        var report = Path.Combine(folder, phase == "measure" ? $"{name}.json" : $"{name}.{phase}.json");
        var command = new Command(_program, ["-t", Text(load.Threads), "-c", Text(load.Connections), "-d", $"{Text(seconds)}s", "--timeout", "5s",
            "-s", _script, url])
        {
            Environment = new Dictionary<string, string?>
            {
                ["BENCH_COOKIE"] = session.Cookie,
                ["BENCH_CSRF"] = session.CsrfToken,
                ["BENCH_IDS"] = ids,
                ["BENCH_METHOD"] = method,
                ["BENCH_REPORT"] = report,
            },
        };
        var processes = Processes();
        var before = CpuMeter.Take(processes);
        var run = await CommandRunner.RunAsync(command, cancellationToken, timeout: TimeSpan.FromSeconds(seconds + 60));
        var after = CpuMeter.Take(processes);
        await File.WriteAllTextAsync(Path.Combine(folder, $"{name}.{phase}.txt"), run.Output + run.Error, cancellationToken);
        if (!run.Succeeded || !File.Exists(report))
        {
            var tail = string.Join('\n', (run.Output + run.Error).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(10));
            throw new StackException(run.Succeeded
                ? $"bench: wrk wrote no figures for {name} ({phase}):\n{tail}"
                : $"bench: wrk failed on {name} ({phase}, exit {Text(run.ExitCode)}):\n{tail}");
        }
        WrkResult? result;
        try
        {
            result = JsonSerializer.Deserialize<WrkResult>(await File.ReadAllTextAsync(report, cancellationToken));
        }
        catch (JsonException)
        {
            result = null;
        }
        return result is null
            ? throw new StackException($"bench: wrk's report for {name} is not the JSON line scenario.lua writes; see {report}")
            : result with { CpuPerRequest = CpuMeter.PerRequest(before, after, result.Requests) };
    }

    private static string Script(string root)
    {
        var script = Path.Combine(root, "bench", "wrk", "scenario.lua");
        return File.Exists(script) ? script : throw new StackException($"bench: {script} is missing");
    }

    private static string Text(int number) => number.ToString(CultureInfo.InvariantCulture);
}
