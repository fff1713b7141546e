using System.Globalization;
using Quartet.Stack;

namespace Quartet.Cli.Bench;

/// <summary>The command line of `./quartet bench`.</summary>
internal sealed record BenchOptions
{
    public const string Usage = """
        usage: ./quartet bench [--url URL] [--json FILE] [--smoke] [--compare-node] [--ab KEY=VALUE] [--ab-app DIR] [--rounds N]
          --url URL        load this Quartet (default: the native stack, started if needed)
          --json FILE      also write the figures to FILE as JSON
          --smoke          a few seconds in all, to check the benchmark itself works
          --compare-node   also load the Node.js (Fastify) service in bench/node-fastify on
                           the same data, behind the same nginx template, and print the ratios
          --seconds N      measure each scenario for N seconds (default 15; warm-up N/3)
          --ab KEY=VALUE   start two fresh backends with the stack's settings, B's environment
                           adding KEY=VALUE (repeat --ab for more than one), and alternate
                           rounds of A and B (--rounds, default 3)
          --ab-app DIR     B runs the backend published in DIR (Quartet.Api.dll) instead of
                           the stack's own: A/B of a code or build change; with --ab, both

        """;

    public string? Url { get; init; }
    public string? Json { get; init; }
    public bool Smoke { get; init; }
    public bool CompareNode { get; init; }
    public int? Seconds { get; init; }
    /// <summary>The settings backend B adds (--ab, any number of times).</summary>
    public IReadOnlyList<string> Ab { get; init; } = [];
    public string? AbApp { get; init; }
    public bool IsAb => Ab.Count > 0 || AbApp is not null;
    public int Rounds { get; init; } = 3;
    public bool Help { get; init; }

    public BenchLoad Load => BenchLoad.For(Smoke, Seconds);

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value(string what) =>
                i + 1 < args.Length && args[i + 1].Length > 0 ? args[++i] : throw new StackException($"bench: {args[i]} needs {what}");
            options = args[i] switch
            {
                "--url" => options with { Url = Value("a URL") },
                "--json" => options with { Json = Value("a file") },
                "--smoke" => options with { Smoke = true },
                "--compare-node" => options with { CompareNode = true },
                "--ab" => options with { Ab = [.. options.Ab, Setting(Value("KEY=VALUE"))] },
                "--ab-app" => options with { AbApp = Path.GetFullPath(Value("a folder")) },
                "--rounds" => options with { Rounds = WholeNumber("--rounds", Value("a number")) },
                "--seconds" => options with { Seconds = WholeNumber("--seconds", Value("a number")) },
                "-h" or "--help" => options with { Help = true },
                _ => throw new StackException($"bench: unknown argument '{args[i]}' (see ./quartet bench --help)"),
            };
            if (options.Help)
            {
                break;
            }
        }
        return options;
    }

    private static string Setting(string value) =>
        value.IndexOf('=', StringComparison.Ordinal) > 0 ? value : throw new StackException("bench: --ab takes KEY=VALUE");

    private static int WholeNumber(string option, string value) =>
        value[0] != '0' && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new StackException($"bench: {option} takes a whole number");
}

/// <summary>How hard and how long each scenario is loaded, and how many notes the user holds.</summary>
internal sealed record BenchLoad(int WarmupSeconds, int Seconds, int Connections, int Threads, int Notes)
{
    public static BenchLoad For(bool smoke, int? seconds)
    {
        var load = smoke ? new BenchLoad(1, 2, 8, 2, 20) : new BenchLoad(5, 15, 64, 2, 200);
        return seconds is { } s ? load with { Seconds = s, WarmupSeconds = (s + 2) / 3 } : load;
    }
}
