using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quartet.Cli.Bench;

/// <summary>
/// The figures of one run and how they are shown: the table, memory and start time, the targets,
/// and the --json document. Ratios are taken within the run, against GET /health/live of the same run.
/// </summary>
internal sealed record BenchReport(string Url, BenchLoad Load, IReadOnlyDictionary<string, WrkResult> Scenarios, double? ResidentMb, StartToReady StartToReady)
{
    public static readonly string[] Names = ["health", "list", "get", "search", "create"];
    public static readonly string[] NodeNames = ["node-health", "node-list", "node-get", "node-search"];

    private bool HasNode => Scenarios.ContainsKey("node-health");

    public void Print()
    {
        // Work first: CPU time per request survives a busy machine, requests/s does not.
        PrintCpu();
        Console.WriteLine();
        Console.WriteLine($"{"scenario",-12} {"req/s",10} {"p50 ms",10} {"p99 ms",10} {"non-2xx",8} {"x live",8}");
        foreach (var name in Names)
        {
            Row(name, Scenarios["health"]);
        }
        if (HasNode)
        {
            foreach (var name in NodeNames)
            {
                Row(name, Scenarios["node-health"]);
            }
        }
        Console.WriteLine();
        Console.WriteLine($"backend resident memory after the load: {Megabytes(ResidentMb)} MB");
        Console.WriteLine($"backend start -> /health/ready 200: {StartToReady.Milliseconds?.ToString(CultureInfo.InvariantCulture) ?? "null"} ms");

        Console.WriteLine();
        Console.WriteLine("targets (this run):");
        foreach (var name in Names.SkipLast(1))
        {
            var ratio = Ratio(Scenarios[name].P99Ms, Scenarios[name].P50Ms);
            Console.WriteLine($"  {name} p99 <= 3x p50: {ratio} ({Verdict(ratio, atLeast: false, 3)})");
        }
        var failed = Scenarios.Values.Sum(r => r.Failed);
        Console.WriteLine($"  0 failed responses: {failed} ({(failed == 0 ? "met" : "MISSED")})");
        Console.WriteLine($"  resident memory <= 100 MB: {Verdict(Megabytes(ResidentMb), atLeast: false, 100)}");
        Console.WriteLine($"  start -> ready <= 200 ms: {Verdict(StartToReady.Milliseconds?.ToString(CultureInfo.InvariantCulture), atLeast: false, 200)}");
        if (HasNode)
        {
            foreach (var name in Names.SkipLast(1))
            {
                var target = name is "list" or "get" ? 1.3 : 1.0;
                var ratio = Ratio(Scenarios[name].Rps, Scenarios[$"node-{name}"].Rps);
                Console.WriteLine($"  {name} req/s >= {Number(target)}x Node.js: {ratio} ({Verdict(ratio, atLeast: true, target)})");
            }
            foreach (var name in Names.SkipLast(1))
            {
                var target = name == "health" ? 0.7 : 0.5;
                var ratio = Scenarios[name].CpuPerRequest.TryGetValue("backend", out var ours) && Scenarios[$"node-{name}"].CpuPerRequest.TryGetValue("node", out var theirs)
                    ? Ratio(ours, theirs)
                    : "n/a";
                Console.WriteLine($"  {name} backend CPU/request <= {Number(target)}x Node.js: {ratio} ({Verdict(ratio, atLeast: false, target)})");
            }
        }
    }

    private static readonly string[] CpuGroups = ["nginx", "redis", CpuMeter.RedisCache, "postgres", CpuMeter.LoadGenerator];

    /// <summary>CPU time per request of each process group, measured around each scenario's run.</summary>
    private void PrintCpu()
    {
        if (Scenarios.Values.All(r => r.CpuPerRequest.Count == 0))
        {
            return;
        }
        Console.WriteLine("CPU per request, microseconds (utime + stime from /proc around each measured run):");
        Console.WriteLine($"{"scenario",-12} {"service",8} {"nginx",8} {"redis",8} {"r-cache",8} {"postgres",8} {"wrk",8} {"total",8}");
        foreach (var name in HasNode ? [.. Names, .. NodeNames] : Names)
        {
            var cpu = Scenarios[name].CpuPerRequest;
            var service = cpu.TryGetValue(name.StartsWith("node-", StringComparison.Ordinal) ? "node" : "backend", out var s) ? s : (double?)null;
            string Cell(double? value) => value?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-";
            var cells = CpuGroups.Select(g => cpu.TryGetValue(g, out var v) ? v : (double?)null).ToList();
            Console.WriteLine($"{name,-12} {Cell(service),8} {string.Join(' ', cells.Select(c => $"{Cell(c),8}"))} {Cell(cpu.Values.Sum()),8}");
        }
    }

    private void Row(string name, WrkResult live)
    {
        var result = Scenarios[name];
        Console.WriteLine($"{name,-12} {Number(result.Rps),10} {Number(result.P50Ms),10} {Number(result.P99Ms),10} {result.Failed,8} {Ratio(result.Rps, live.Rps),8}");
    }

    /// <summary>The --json document: the run's settings and every scenario's figures.</summary>
    public async Task WriteJsonAsync(string file, string commit, CancellationToken cancellationToken)
    {
        var scenarios = new Dictionary<string, WrkResult>();
        string[] names = HasNode ? [.. Names, .. NodeNames] : Names;
        foreach (var name in names)
        {
            scenarios[name] = Scenarios[name];
        }
        var document = new Document(Url, commit, Load.Connections, Load.Seconds, ResidentMb, StartToReady.Milliseconds, scenarios);
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(document, JsonOptions) + "\n", cancellationToken);
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // a file, never HTML: URLs keep their & and +
    };

    private sealed record Document(
        [property: JsonPropertyName("url")] string Url,
        [property: JsonPropertyName("commit")] string Commit,
        [property: JsonPropertyName("connections")] int Connections,
        [property: JsonPropertyName("seconds")] int Seconds,
        [property: JsonPropertyName("rss_mb")] double? RssMb,
        [property: JsonPropertyName("start_to_ready_ms")] long? StartToReadyMs,
        [property: JsonPropertyName("scenarios")] IReadOnlyDictionary<string, WrkResult> Scenarios);

    /// <summary>A figure as JSON shows it: the shortest form that reads back the same (5.3, 1200).</summary>
    public static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Megabytes to one decimal, or "null" when not measured.</summary>
    public static string Megabytes(double? value) => value?.ToString("0.0", CultureInfo.InvariantCulture) ?? "null";

    /// <summary>a / b to two decimals, or "n/a" when b is not positive.</summary>
    public static string Ratio(double a, double b) => b > 0 ? (a / b).ToString("0.00", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>"met" or "MISSED" for a shown figure against its target; "n/a" when there is no figure.</summary>
    public static string Verdict(string? shown, bool atLeast, double target)
    {
        if (!double.TryParse(shown, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return "n/a";
        }
        return (atLeast ? value >= target : value <= target) ? "met" : "MISSED";
    }
}
