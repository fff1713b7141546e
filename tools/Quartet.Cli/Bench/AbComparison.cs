using Quartet.Stack;

namespace Quartet.Cli.Bench;

/// <summary>
/// A/B: a second backend with one setting changed (KEY=VALUE, as an environment variable:
/// Logging__LogLevel__Quartet.Request=Warning, DOTNET_gcServer=0, ...), behind its own nginx; rounds
/// alternate A and B so the machine's noise falls on both. With an app folder, B runs that published
/// backend instead of the stack's: the A/B of a code or build change.
/// </summary>
internal sealed class AbComparison(NativeStack stack, Wrk wrk, string folder)
{
    public async Task RunAsync(string url, string? setting, string? app, int rounds, CancellationToken cancellationToken)
    {
        var assembly = app is null ? stack.Layout.AppAssembly : Path.Combine(app, "Quartet.Api.dll");
        if (!File.Exists(assembly))
        {
            throw new StackException($"bench: --ab-app: {assembly} is missing (dotnet publish src/Quartet.Api -o DIR)");
        }
        var (runs, residentB) = await MeasureAsync(url, setting, assembly, rounds, cancellationToken);

        double Mean(string side, string scenario, Func<WrkResult, double> figure, int decimals)
        {
            var scale = Math.Pow(10, decimals);
            var mean = runs.Where(r => r.Side == side && r.Scenario == scenario).Average(r => figure(r.Result));
            return Math.Round(mean * scale, MidpointRounding.AwayFromZero) / scale;
        }

        Console.WriteLine();
        var change = string.Join(" and ", new[] { setting, app is null ? null : $"the backend in {app}" }.OfType<string>());
        Console.WriteLine($"A/B over {rounds} rounds; B = A with {change}");
        Console.WriteLine($"{"scenario",-8} {"A us/req",9} {"B us/req",9} {"B/A",6} {"A req/s",10} {"B req/s",10} {"B/A",6} {"A p99 ms",10} {"B p99 ms",10}");
        foreach (var name in Scenario.Reads.Select(s => s.Name))
        {
            // The backend's own CPU per request first: the figure the machine's noise moves least.
            static double Cpu(WrkResult r) => r.CpuPerRequest.TryGetValue("backend", out var us) ? us : double.NaN;
            var (aCpu, bCpu) = (Mean("a", name, Cpu, 1), Mean("b", name, Cpu, 1));
            var (aRps, bRps) = (Mean("a", name, r => r.Rps, 1), Mean("b", name, r => r.Rps, 1));
            var (aP99, bP99) = (Mean("a", name, r => r.P99Ms, 2), Mean("b", name, r => r.P99Ms, 2));
            Console.WriteLine($"{name,-8} {BenchReport.Number(aCpu),9} {BenchReport.Number(bCpu),9} {BenchReport.Ratio(bCpu, aCpu),6} "
                + $"{BenchReport.Number(aRps),10} {BenchReport.Number(bRps),10} {BenchReport.Ratio(bRps, aRps),6} "
                + $"{BenchReport.Number(aP99),10} {BenchReport.Number(bP99),10}");
        }
        Console.WriteLine($"resident memory after the load: A {BenchReport.Megabytes(BackendFigures.ResidentMb(stack.Backend.Pid))} MB, "
            + $"B {BenchReport.Megabytes(residentB)} MB");
    }

    /// <summary>Backend B and its nginx up, the rounds run, B's memory read; both stopped again.</summary>
    private async Task<(List<Run> Runs, double? ResidentB)> MeasureAsync(string url, string? setting, string assembly, int rounds,
        CancellationToken cancellationToken)
    {
        var environment = stack.SecondBackendEnvironment();
        if (setting is not null)
        {
            var separator = setting.IndexOf('=', StringComparison.Ordinal);
            environment[setting[..separator]] = setting[(separator + 1)..];
        }
        var own = Path.Combine(folder, "b");
        await using var backend = new BackendServer(assembly, environment, Ports.Free(), own, own, name: "backend-b")
        {
            StartTimeout = TimeSpan.FromSeconds(30),
        };
        await using var nginx = SecondServers.Nginx(stack, folder, "b", backend.Port);
        await SecondServers.StartAsync(backend, "backend B", cancellationToken);
        await SecondServers.StartAsync(nginx, "a second nginx (b)", cancellationToken);

        var runs = new List<Run>();
        (string Side, string Target)[] sides = [("a", url), ("b", nginx.BaseAddress.ToString().TrimEnd('/'))];
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var (side, target) in sides)
            {
                var pid = side == "a" ? stack.Backend.Pid : backend.Pid;
                wrk.Processes = () => new Dictionary<string, int?> { ["backend"] = pid };
                foreach (var scenario in Scenario.Reads)
                {
                    runs.Add(new Run(side, scenario.Name, await wrk.RunAsync($"{side}-{scenario.Name}-{round}", target, scenario, cancellationToken)));
                }
            }
        }
        return (runs, BackendFigures.ResidentMb(backend.Pid));
    }

    private sealed record Run(string Side, string Scenario, WrkResult Result);
}
