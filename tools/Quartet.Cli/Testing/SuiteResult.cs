using System.Text.Json;
using System.Xml.Linq;

namespace Quartet.Cli.Testing;

/// <summary>What one suite counted, read from its runner's own report file.</summary>
internal sealed record SuiteResult(int Passed, int Failed, int Skipped)
{
    public static readonly SuiteResult None = new(0, 0, 0);
    public static SuiteResult Pass => new(1, 0, 0);
    public static SuiteResult Fail => new(0, 1, 0);

    public static SuiteResult operator +(SuiteResult a, SuiteResult b) => new(a.Passed + b.Passed, a.Failed + b.Failed, a.Skipped + b.Skipped);

    public override string ToString() => $"{Passed} passed, {Failed} failed" + (Skipped > 0 ? $", {Skipped} skipped" : "");

    /// <summary>The counters of a TRX file (Microsoft.Testing.Platform's or xUnit's report).</summary>
    public static SuiteResult FromTrx(string file)
    {
        var counters = XDocument.Load(file).Descendants().First(e => e.Name.LocalName == "Counters");
        int Count(string name) => int.TryParse(counters.Attribute(name)?.Value, out var n) ? n : 0;
        return new SuiteResult(Count("passed"), Count("failed") + Count("error") + Count("timeout") + Count("aborted"), Count("notExecuted"));
    }

    /// <summary>
    /// The lines starting with "report: " that tests wrote to their output (a summary worth seeing when they pass,
    /// such as the fuzz suite's requests per operation), without the marker.
    /// </summary>
    public static IEnumerable<string> ReportLines(string file) =>
        XDocument.Load(file).Descendants().Where(e => e.Name.LocalName is "Message" or "StdOut")
            .SelectMany(e => e.Value.Split('\n')).Select(l => l.TrimEnd('\r'))
            .Where(l => l.StartsWith("report: ", StringComparison.Ordinal)).Select(l => l["report: ".Length..]);

    /// <summary>Vitest's JSON reporter.</summary>
    public static SuiteResult FromVitest(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        var root = document.RootElement;
        return new SuiteResult(root.GetProperty("numPassedTests").GetInt32(), root.GetProperty("numFailedTests").GetInt32(),
            root.TryGetProperty("numPendingTests", out var pending) ? pending.GetInt32() : 0);
    }

    /// <summary>Playwright's JSON reporter; a test that passed only on a retry is not a pass.</summary>
    public static SuiteResult FromPlaywright(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        var stats = document.RootElement.GetProperty("stats");
        int Count(string name) => stats.TryGetProperty(name, out var n) ? n.GetInt32() : 0;
        return new SuiteResult(Count("expected"), Count("unexpected") + Count("flaky"), Count("skipped"));
    }
}
