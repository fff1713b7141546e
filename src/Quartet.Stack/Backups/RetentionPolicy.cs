using System.Globalization;

namespace Quartet.Stack.Backups;

/// <summary>
/// Which backup sets to keep: the newest of each of the last <see cref="Daily"/> days, the last
/// <see cref="Weekly"/> ISO weeks and the last <see cref="Monthly"/> months that have one (UTC), and
/// always the newest set. Everything else may go. Days, weeks and months count sets that exist, so a
/// stack that was off for a week still keeps its last seven days of backups.
/// </summary>
public sealed record RetentionPolicy(int Daily = 7, int Weekly = 4, int Monthly = 6)
{
    /// <summary>QUARTET_BACKUP_KEEP as "daily,weekly,monthly" (e.g. 7,4,6), else the defaults.</summary>
    public static RetentionPolicy FromEnvironment()
    {
        var text = Environment.GetEnvironmentVariable("QUARTET_BACKUP_KEEP");
        if (string.IsNullOrWhiteSpace(text))
        {
            return new RetentionPolicy();
        }
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 3 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 10000))
        {
            throw new StackException($"QUARTET_BACKUP_KEEP must be three counts, daily,weekly,monthly (for example 7,4,6), not '{text}'");
        }
        var counts = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        return new RetentionPolicy(counts[0], counts[1], counts[2]);
    }

    public IReadOnlySet<DateTimeOffset> Keep(IEnumerable<DateTimeOffset> taken)
    {
        var newestFirst = taken.Select(t => t.ToUniversalTime()).OrderByDescending(t => t).ToList();
        var keep = new HashSet<DateTimeOffset>();
        if (newestFirst.Count > 0)
        {
            keep.Add(newestFirst[0]);
        }
        KeepNewestPer(newestFirst, t => t.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Daily, keep);
        KeepNewestPer(newestFirst, t => $"{ISOWeek.GetYear(t.UtcDateTime)}-W{ISOWeek.GetWeekOfYear(t.UtcDateTime)}", Weekly, keep);
        KeepNewestPer(newestFirst, t => t.ToString("yyyy-MM", CultureInfo.InvariantCulture), Monthly, keep);
        return keep;
    }

    private static void KeepNewestPer(List<DateTimeOffset> newestFirst, Func<DateTimeOffset, string> period, int count, HashSet<DateTimeOffset> keep)
    {
        var seen = new HashSet<string>();
        foreach (var t in newestFirst)
        {
            if (seen.Count >= count)
            {
                return;
            }
            if (seen.Add(period(t)))
            {
                keep.Add(t);
            }
        }
    }

    public override string ToString() => $"{Daily} daily, {Weekly} weekly, {Monthly} monthly";
}
