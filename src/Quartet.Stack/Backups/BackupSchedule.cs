using System.Globalization;
using System.Text.RegularExpressions;

namespace Quartet.Stack.Backups;

/// <summary>
/// How often the native supervisor backs up and drills (QUARTET_BACKUP_INTERVAL, default 24h, and
/// QUARTET_DRILL_INTERVAL, default 7d; 0 or off turns either off). A job is due when backup_status says
/// it last succeeded longer ago than its interval, or never; a failed run is tried again after
/// <see cref="RetryAfter"/> (or the interval, when shorter).
/// </summary>
public sealed partial record BackupSchedule(TimeSpan? Backup, TimeSpan? Drill)
{
    public static readonly BackupSchedule Off = new(null, null);

    public static readonly TimeSpan RetryAfter = TimeSpan.FromHours(1);

    public static BackupSchedule FromEnvironment() => new(
        Interval("QUARTET_BACKUP_INTERVAL", TimeSpan.FromHours(24)),
        Interval("QUARTET_DRILL_INTERVAL", TimeSpan.FromDays(7)));

    public bool IsOff => Backup is null && Drill is null;

    public override string ToString() => $"backup {Describe(Backup)}, drill {Describe(Drill)}";

    /// <summary>A duration such as 30m, 24h or 7d (s, m, h, d); 0 or off is null (never).</summary>
    public static TimeSpan? Parse(string variable, string text)
    {
        var trimmed = text.Trim().ToLowerInvariant();
        if (trimmed is "0" or "off")
        {
            return null;
        }
        var match = DurationPattern().Match(trimmed);
        if (!match.Success)
        {
            throw new StackException($"{variable} must be a duration such as 30m, 24h or 7d, or off; not '{text}'");
        }
        var amount = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "s" => TimeSpan.FromSeconds(amount),
            "m" => TimeSpan.FromMinutes(amount),
            "h" => TimeSpan.FromHours(amount),
            _ => TimeSpan.FromDays(amount),
        };
    }

    private static TimeSpan? Interval(string variable, TimeSpan fallback) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text ? Parse(variable, text) : fallback;

    private static string Describe(TimeSpan? interval) => interval switch
    {
        null => "off",
        { TotalDays: >= 1 } d when d.TotalDays == Math.Floor(d.TotalDays) => $"every {d.TotalDays:0}d",
        { TotalHours: >= 1 } h when h.TotalHours == Math.Floor(h.TotalHours) => $"every {h.TotalHours:0}h",
        { TotalMinutes: >= 1 } m when m.TotalMinutes == Math.Floor(m.TotalMinutes) => $"every {m.TotalMinutes:0}m",
        var s => $"every {s.Value.TotalSeconds:0}s",
    };

    [GeneratedRegex("^([1-9][0-9]{0,5})([smhd])$")]
    private static partial Regex DurationPattern();
}
