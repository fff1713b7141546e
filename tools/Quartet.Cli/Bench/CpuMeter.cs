using System.Globalization;

namespace Quartet.Cli.Bench;

/// <summary>
/// CPU time per process group, read from /proc around a measured run: utime + stime of each group's
/// root process and all its descendants, plus what its children that have exited left in cutime +
/// cstime (PostgreSQL's connection processes, say). The load generator is this process's own
/// children (wrk), counted once it is reaped. CPU per request is the figure that survives a noisy
/// machine: other work slows the run but does not add to these processes' time.
/// </summary>
internal static class CpuMeter
{
    public const string LoadGenerator = "wrk";
    public const string RedisCache = "redis-cache";

    /// <summary>Clock ticks per second of /proc's times (USER_HZ): 100 on Linux.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>Ticks used so far by each group (root pids by name), and by this process's reaped children.</summary>
    public static Dictionary<string, long> Take(IReadOnlyDictionary<string, int?> roots)
    {
        var stats = ReadAll();
        var children = stats.Values.ToLookup(s => s.ParentPid);
        var ticks = new Dictionary<string, long>();
        foreach (var (name, root) in roots)
        {
            if (root is { } pid && stats.TryGetValue(pid, out var top))
            {
                var total = top.ChildrenTicks;
                var pending = new Stack<ProcStat>([top]);
                while (pending.TryPop(out var process))
                {
                    total += process.OwnTicks;
                    foreach (var child in children[process.Pid])
                    {
                        pending.Push(child);
                    }
                }
                ticks[name] = total;
            }
        }
        if (stats.TryGetValue(Environment.ProcessId, out var self))
        {
            ticks[LoadGenerator] = self.ChildrenTicks;
        }
        return ticks;
    }

    /// <summary>Microseconds of CPU per request for each group measured both times.</summary>
    public static Dictionary<string, double> PerRequest(Dictionary<string, long> before, Dictionary<string, long> after, long requests)
    {
        var result = new Dictionary<string, double>();
        foreach (var (name, end) in after)
        {
            if (before.TryGetValue(name, out var start) && requests > 0)
            {
                result[name] = Math.Round((end - start) / TicksPerSecond * 1_000_000 / requests, 1);
            }
        }
        return result;
    }

    private sealed record ProcStat(int Pid, int ParentPid, long OwnTicks, long ChildrenTicks);

    private static Dictionary<int, ProcStat> ReadAll()
    {
        var stats = new Dictionary<int, ProcStat>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // gone meanwhile
            }
            // Fields after the command name (which may hold spaces): state ppid ... utime(14) stime(15) cutime(16) cstime(17).
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
            stats[pid] = new ProcStat(pid, (int)Field(4), Field(14) + Field(15), Field(16) + Field(17));
        }
        return stats;
    }
}
