using System.Globalization;
using System.Text;

namespace Quartet.Deploy.Tests.Durability;

/// <summary>A fault to inject while the load runs, and how to tell that the part it broke is whole again (restarted and healthy).</summary>
public sealed record Fault(string Name, Func<CancellationToken, Task> InjectAsync, Func<CancellationToken, Task<bool>> RestoredAsync);

/// <summary>
/// What one fault did to the load: the seconds from the fault to the first acknowledgment of a write
/// sent after it (null: none within the drill's limit), and every answer that was not one, from the
/// fault until the next fault (or the end).
/// </summary>
public sealed record FaultResult(string Name, TimeSpan Start, TimeSpan? Recovery, TimeSpan? Restored, IReadOnlyList<Refusal> Refusals)
{
    public const double RecoveryLimitSeconds = 10;

    /// <summary>5xx answers other than a 503 with Retry-After: a 500, a 502, or a 503 that does not say when to come back.</summary>
    public IEnumerable<Refusal> BadServerErrors => Refusals.Where(r => r.Status >= 500 && (r.Status != 503 || !r.HasRetryAfter));

    public string Summary()
    {
        var refusals = Refusals.Count == 0 ? "none" : string.Join(", ", Refusals
            .GroupBy(r => r.Outcome + (r.Status >= 500 ? (r.HasRetryAfter ? " with Retry-After" : " WITHOUT Retry-After") : ""))
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} x{g.Count()}"));
        var recovery = Recovery is { } r
            ? $"{r.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s{(r.TotalSeconds > RecoveryLimitSeconds ? $" (over the {RecoveryLimitSeconds:0} s target)" : "")}"
            : "none";
        var restored = Restored is { } s ? $"{s.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s" : "not seen";
        return $"{Name}: recovery {recovery} (fault -> first acknowledged write sent after it); part whole again after {restored}; non-2xx: {refusals}";
    }
}

/// <summary>
/// Faults injected one after another into a stack under a <see cref="WriteLoad"/>: each waits for
/// acknowledged writes, breaks a part, measures the time to the next acknowledged write, and waits
/// until the part is restored before the next fault. Then the load stops and what the stack stored is
/// compared with what it acknowledged.
/// </summary>
public static class FaultDrill
{
    /// <summary>How long a fault may go without an acknowledged write before the drill moves on and fails it.</summary>
    public static readonly TimeSpan RecoveryWait = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan RestoreWait = TimeSpan.FromSeconds(120);

    public static async Task<IReadOnlyList<FaultResult>> RunAsync(WriteLoad load, IReadOnlyList<Fault> faults, Action<string> say, CancellationToken cancellationToken)
    {
        var starts = new List<(Fault Fault, TimeSpan Start, TimeSpan? Recovery, TimeSpan? Restored)>();
        foreach (var fault in faults)
        {
            await SteadyAsync(load, cancellationToken);
            var start = load.Clock.Elapsed;
            say($"{fault.Name} at {start.TotalSeconds:0.0} s ({load.AcknowledgedWrites.Count} writes acknowledged so far)");
            await fault.InjectAsync(cancellationToken);
            TimeSpan? recovery = null;
            while (load.Clock.Elapsed - start < RecoveryWait)
            {
                if (load.FirstAcknowledgedSentAfter(start) is { } first)
                {
                    recovery = first.At - start;
                    break;
                }
                await Task.Delay(100, cancellationToken);
            }
            TimeSpan? restored = null;
            while (load.Clock.Elapsed - start < RestoreWait)
            {
                if (await fault.RestoredAsync(cancellationToken))
                {
                    restored = load.Clock.Elapsed - start;
                    break;
                }
                await Task.Delay(250, cancellationToken);
            }
            say($"{fault.Name}: first acknowledged write after {recovery?.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) ?? "none"} s, whole again after {restored?.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) ?? "never"} s");
            starts.Add((fault, start, recovery, restored));
        }
        await SteadyAsync(load, cancellationToken);
        var end = load.Clock.Elapsed;
        return [.. starts.Select((s, i) =>
        {
            var until = i + 1 < starts.Count ? starts[i + 1].Start : end;
            return new FaultResult(s.Fault.Name, s.Start, s.Recovery, s.Restored,
                [.. load.Refusals.Where(r => r.At >= s.Start && r.At < until).OrderBy(r => r.At)]);
        })];
    }

    /// <summary>Waits (bounded) until two writes sent from now on are acknowledged: the load runs normally again.</summary>
    private static async Task SteadyAsync(WriteLoad load, CancellationToken cancellationToken)
    {
        var since = load.Clock.Elapsed;
        while (load.AcknowledgedWrites.Count(a => a.Sent >= since) < 2 && load.Clock.Elapsed - since < RecoveryWait)
        {
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// The figures, and what is wrong: a lost acknowledged write, a key with two notes, a write given up,
    /// a 5xx other than 503 with Retry-After, no acknowledged write within a minute of the fault or within
    /// 10 s of the part being whole again. A fault-to-acknowledgment time over 10 s is marked in the figures.
    /// </summary>
    public static (string Report, IReadOnlyList<string> Problems) Judge(string stackName, WriteLoad load, IReadOnlyList<FaultResult> results,
        IReadOnlyCollection<(string Title, Guid Id)> stored)
    {
        var byTitle = stored.ToLookup(s => s.Title, s => s.Id);
        var acknowledged = load.AcknowledgedWrites.ToList();
        var lost = acknowledged.Where(a => !byTitle[WriteLoad.TitleOf(a.Key)].Contains(a.NoteId)).ToList();
        var duplicates = byTitle.Where(g => g.Count() > 1).ToList();
        var refusals = load.Refusals.ToList();
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"durability under faults, {stackName}: {load.Attempts} attempts, {acknowledged.Count} acknowledged " +
            $"({acknowledged.Count(a => a.Replayed)} of them replays), {stored.Count} notes stored, {lost.Count} lost, {duplicates.Count} duplicated keys, " +
            $"{load.Abandoned.Count} given up, {refusals.Count} non-2xx answers in {load.Clock.Elapsed.TotalSeconds:0} s");
        foreach (var result in results)
        {
            report.AppendLine("  " + result.Summary());
        }
        var problems = new List<string>();
        problems.AddRange(lost.Take(5).Select(a => $"acknowledged write lost: key {a.Key}, note {a.NoteId}"));
        problems.AddRange(duplicates.Take(5).Select(d => $"one key, {d.Count()} notes: {d.Key}"));
        problems.AddRange(load.Abandoned.Take(5).Select(a => $"write given up: {a}"));
        foreach (var result in results)
        {
            // Fault to acknowledgment includes the part's own restart, which a shared, loaded machine can
            // stretch; what the stack itself adds after the restart (reconnecting, nginx finding the
            // backend, the clients' Retry-After) is what must stay within 10 s here.
            if (result.Recovery is null)
            {
                problems.Add($"{result.Name}: no acknowledged write within {RecoveryWait.TotalSeconds:0} s ({result.Summary()})");
            }
            else if (result.Restored is null)
            {
                problems.Add($"{result.Name}: the part was not whole again within {RestoreWait.TotalSeconds:0} s ({result.Summary()})");
            }
            else if ((result.Recovery - result.Restored).Value.TotalSeconds > FaultResult.RecoveryLimitSeconds)
            {
                problems.Add($"{result.Name}: restored, but no acknowledged write within {FaultResult.RecoveryLimitSeconds} s of it ({result.Summary()})");
            }
            problems.AddRange(result.BadServerErrors.Take(3).Select(r => $"{result.Name}: {r.Outcome}{(r.HasRetryAfter ? "" : " without Retry-After")} ({r.ProblemType}) at {r.At.TotalSeconds:0.0} s"));
        }
        if (acknowledged.Count == 0)
        {
            problems.Add("no write was acknowledged at all");
        }
        return (report.ToString(), problems);
    }
}
