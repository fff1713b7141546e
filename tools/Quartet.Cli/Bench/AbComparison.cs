using Quartet.Stack;

namespace Quartet.Cli.Bench;

/// <summary>
/// A/B: two fresh backends beside the stack's, the same but for the settings B adds (KEY=VALUE, as an
/// environment variable: Logging__LogLevel__Quartet.Request=Warning, DOTNET_gcServer=0, ...), each behind
/// its own nginx; rounds alternate A and B so the machine's noise falls on both. With an app folder, B runs
/// that published backend instead of the stack's: the A/B of a code or build change.
/// </summary>
internal sealed class AbComparison(NativeStack stack, Wrk wrk, string folder)
{
    public async Task RunAsync(IReadOnlyList<string> settings, string? app, int rounds, CancellationToken cancellationToken)
    {
        var assembly = app is null ? stack.Layout.AppAssembly : Path.Combine(app, "Quartet.Api.dll");
        if (!File.Exists(assembly))
        {
            throw new StackException($"bench: --ab-app: {assembly} is missing (dotnet publish src/Quartet.Api -o DIR)");
        }
        var (runs, residentA, residentB) = await MeasureAsync(settings, assembly, rounds, cancellationToken);

        double Mean(string side, string scenario, Func<WrkResult, double> figure, int decimals)
        {
            var scale = Math.Pow(10, decimals);
            var mean = runs.Where(r => r.Side == side && r.Scenario == scenario).Average(r => figure(r.Result));
            return Math.Round(mean * scale, MidpointRounding.AwayFromZero) / scale;
        }

        Console.WriteLine();
        var change = string.Join(" and ", settings.Append(app is null ? null : $"the backend in {app}").OfType<string>());
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
        Console.WriteLine($"resident memory after the load: A {BenchReport.Megabytes(residentA)} MB, "
            + $"B {BenchReport.Megabytes(residentB)} MB");
    }

    /// <summary>
    /// Backends A and B, each behind an nginx of its own, started together from the same settings (B with
    /// the change); the rounds run; both memories read; all stopped again. A is not the stack's own backend:
    /// that one has served everything before, and an A/A run against it differed by up to 1.8x.
    /// </summary>
    private async Task<(List<Run> Runs, double? ResidentA, double? ResidentB)> MeasureAsync(IReadOnlyList<string> settings, string assemblyB, int rounds,
        CancellationToken cancellationToken)
    {
        var environmentA = stack.SecondBackendEnvironment();
        var environmentB = stack.SecondBackendEnvironment();
        foreach (var setting in settings)
        {
            var separator = setting.IndexOf('=', StringComparison.Ordinal);
            environmentB[setting[..separator]] = setting[(separator + 1)..];
        }
        await using var a = await StartAsync("a", stack.Layout.AppAssembly, environmentA, cancellationToken);
        await using var b = await StartAsync("b", assemblyB, environmentB, cancellationToken);

        var runs = new List<Run>();
        for (var round = 1; round <= rounds; round++)
        {
            // Alternating which side goes first, so neither always follows the other's load.
            foreach (var side in round % 2 == 1 ? [a, b] : (Side[])[b, a])
            {
                wrk.Processes = () => new Dictionary<string, int?> { ["backend"] = side.Backend.Pid };
                foreach (var scenario in Scenario.Reads)
                {
                    runs.Add(new Run(side.Name, scenario.Name, await wrk.RunAsync($"{side.Name}-{scenario.Name}-{round}", side.Url, scenario, cancellationToken)));
                }
            }
        }
        return (runs, BackendFigures.ResidentMb(a.Backend.Pid), BackendFigures.ResidentMb(b.Backend.Pid));
    }

    private async Task<Side> StartAsync(string name, string assembly, Dictionary<string, string?> environment, CancellationToken cancellationToken)
    {
        var own = Path.Combine(folder, name);
        var backend = new BackendServer(assembly, environment, Ports.Free(), own, own, name: $"backend-{name}")
        {
            StartTimeout = TimeSpan.FromSeconds(30),
        };
        var nginx = SecondServers.Nginx(stack, folder, name, backend.Port);
        var side = new Side(name, backend, nginx);
        try
        {
            await SecondServers.StartAsync(backend, $"backend {name.ToUpperInvariant()}", cancellationToken);
            await SecondServers.StartAsync(nginx, $"a second nginx ({name})", cancellationToken);
            return side;
        }
        catch
        {
            await side.DisposeAsync();
            throw;
        }
    }

    private sealed record Side(string Name, BackendServer Backend, NginxServer Nginx) : IAsyncDisposable
    {
        public string Url => Nginx.BaseAddress.ToString().TrimEnd('/');

        public async ValueTask DisposeAsync()
        {
            await Nginx.DisposeAsync();
            await Backend.DisposeAsync();
        }
    }

    private sealed record Run(string Side, string Scenario, WrkResult Result);
}
