using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

[Trait("Category", "Backup")]
public sealed class RetentionPolicyTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 3, 0, 0, TimeSpan.Zero);

    [Fact]
    public void DailyBackupsForAYearKeepSevenDaysFourWeeksAndSixMonths()
    {
        var taken = Enumerable.Range(0, 365).Select(d => Start.AddDays(d)).ToList();
        var keep = new RetentionPolicy(7, 4, 6).Keep(taken);

        var newest = taken[^1];
        Assert.Contains(newest, keep);
        Assert.All(Enumerable.Range(0, 7).Select(d => newest.AddDays(-d)), d => Assert.Contains(d, keep));
        // The newest of each of the last four ISO weeks and the last six months; nothing else.
        var expected = new HashSet<DateTimeOffset>(Enumerable.Range(0, 7).Select(d => newest.AddDays(-d)));
        foreach (var week in taken.GroupBy(t => (System.Globalization.ISOWeek.GetYear(t.UtcDateTime), System.Globalization.ISOWeek.GetWeekOfYear(t.UtcDateTime)))
            .OrderByDescending(g => g.Key).Take(4))
        {
            expected.Add(week.Max());
        }
        foreach (var month in taken.GroupBy(t => (t.Year, t.Month)).OrderByDescending(g => g.Key).Take(6))
        {
            expected.Add(month.Max());
        }
        Assert.Equal(expected.OrderBy(t => t), keep.OrderBy(t => t));
        Assert.True(keep.Count < 20, $"kept {keep.Count}");
    }

    [Fact]
    public void SeveralBackupsADayKeepTheNewestOfEachDay()
    {
        var taken = Enumerable.Range(0, 10 * 24).Select(h => Start.AddHours(h)).ToList();
        var keep = new RetentionPolicy(3, 0, 0).Keep(taken);
        // 02:00 on the last day, then 23:00 on each of the two days before.
        Assert.Equal([taken[^1], taken[^4], taken[^28]], keep.OrderByDescending(t => t));
    }

    [Fact]
    public void APauseDoesNotThrowAwayTheLastBackupsBeforeIt()
    {
        // A stack that was off for a month still has its last seven daily backups from before.
        var taken = Enumerable.Range(0, 10).Select(d => Start.AddDays(d)).Append(Start.AddDays(40)).ToList();
        var keep = new RetentionPolicy(7, 0, 0).Keep(taken);
        Assert.Equal(7, keep.Count);
        Assert.Contains(Start.AddDays(40), keep);
        Assert.Contains(Start.AddDays(4), keep);
        Assert.DoesNotContain(Start.AddDays(3), keep);
    }

    [Fact]
    public void NothingConfiguredStillKeepsTheNewest()
    {
        var taken = new[] { Start, Start.AddDays(1) };
        Assert.Equal([Start.AddDays(1)], new RetentionPolicy(0, 0, 0).Keep(taken));
    }

    [Theory]
    [InlineData("7,4")]
    [InlineData("a,b,c")]
    [InlineData("-1,4,6")]
    public void AMalformedSettingIsRefusedWithItsName(string value)
    {
        Environment.SetEnvironmentVariable("QUARTET_BACKUP_KEEP", value);
        try
        {
            var error = Assert.Throws<StackException>(RetentionPolicy.FromEnvironment);
            Assert.Contains("QUARTET_BACKUP_KEEP", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("QUARTET_BACKUP_KEEP", null);
        }
    }
}
