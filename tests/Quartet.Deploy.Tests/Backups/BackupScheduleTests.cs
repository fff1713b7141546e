using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

[Trait("Category", "Backup")]
public sealed class BackupScheduleTests
{
    [Theory]
    [InlineData("30m", 30 * 60)]
    [InlineData("24h", 24 * 3600)]
    [InlineData("7d", 7 * 86400)]
    [InlineData(" 90s ", 90)]
    [InlineData("12H", 12 * 3600)]
    public void ADurationIsReadWithItsUnit(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), BackupSchedule.Parse("QUARTET_BACKUP_INTERVAL", text));

    [Theory]
    [InlineData("0")]
    [InlineData("off")]
    [InlineData("OFF")]
    public void ZeroOrOffTurnsTheJobOff(string text) => Assert.Null(BackupSchedule.Parse("QUARTET_DRILL_INTERVAL", text));

    [Theory]
    [InlineData("24")]
    [InlineData("1w")]
    [InlineData("-1h")]
    [InlineData("1.5h")]
    [InlineData("0h")]
    public void AnythingElseStopsWithOneLineNamingTheSetting(string text)
    {
        var e = Assert.Throws<StackException>(() => BackupSchedule.Parse("QUARTET_DRILL_INTERVAL", text));
        Assert.Equal($"QUARTET_DRILL_INTERVAL must be a duration such as 30m, 24h or 7d, or off; not '{text}'", e.Message);
    }
}
