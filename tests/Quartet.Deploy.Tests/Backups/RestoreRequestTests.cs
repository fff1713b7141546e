using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>
/// What <c>./quartet restore</c> accepts in both modes, and which set it starts from: a bad argument is one
/// clear line, never a restore of something else.
/// </summary>
[Trait("Category", "Backup")]
public sealed class RestoreRequestTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("quartet-sets-").FullName;

    [Fact]
    public void TheArgumentsNameAMomentOrABackupAndForce()
    {
        Assert.Equal(new RestoreRequest(null, null, false), RestoreRequest.Parse([]));
        Assert.Equal(new RestoreRequest(null, "20261201T093000Z", true), RestoreRequest.Parse(["20261201T093000Z", "--force"]));
        var at = RestoreRequest.Parse(["--to", "2026-12-01T09:30:00+01:00"]);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 8, 30, 0, TimeSpan.Zero), at.To);
        // No offset: UTC, as the usage says.
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 9, 30, 0, TimeSpan.Zero), RestoreRequest.Parse(["--to", "2026-12-01T09:30:00"]).To);
    }

    [Theory]
    [InlineData("restore: '12/31/yesterday' is not a moment", "--to", "12/31/yesterday")]
    [InlineData("restore: unexpected argument '--to'", "--to")]
    [InlineData("restore: unexpected argument '--yes'", "--yes")]
    [InlineData("restore: unexpected argument 'second'", "first", "second")]
    [InlineData("restore: give a moment (--to) or a backup, not both", "20261201T093000Z", "--to", "2026-12-01T09:30:00Z")]
    public void AnythingElseIsOneClearLine(string message, params string[] args)
    {
        var refused = Assert.Throws<StackException>(() => RestoreRequest.Parse(args));
        Assert.StartsWith(message, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public async Task TheSetChosenIsTheOneNamedTheLastBeforeTheMomentOrTheNewest()
    {
        var now = DateTimeOffset.UtcNow;
        // Nine daily sets: pgBackRest keeps continuous WAL from the seventh newest on (7 daily).
        var taken = Enumerable.Range(0, 9).Select(d => now.AddDays(d - 9).AddHours(1)).ToList();
        var sets = await SetsAsync(taken);
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal(Id(taken[^1]), (await sets.ChooseAsync(new RestoreRequest(null, null, false), ct)).Manifest.Id);
        Assert.Equal(Id(taken[4]), (await sets.ChooseAsync(new RestoreRequest(null, Id(taken[4]), false), ct)).Manifest.Id);
        Assert.Equal(Id(taken[5]), (await sets.ChooseAsync(new RestoreRequest(taken[5].AddMinutes(30), null, false), ct)).Manifest.Id);

        var unknown = await Assert.ThrowsAsync<StackException>(() => sets.ChooseAsync(new RestoreRequest(null, "20200101T000000Z", false), ct));
        Assert.Equal("no backup 20200101T000000Z; ./quartet backups lists them", unknown.Message);
        var future = await Assert.ThrowsAsync<StackException>(() => sets.ChooseAsync(new RestoreRequest(now.AddHours(1), null, false), ct));
        Assert.EndsWith("is in the future", future.Message, StringComparison.Ordinal);
        var tooEarly = await Assert.ThrowsAsync<StackException>(() => sets.ChooseAsync(new RestoreRequest(taken[0].AddHours(-1), null, false), ct));
        Assert.StartsWith("no backup was taken before", tooEarly.Message, StringComparison.Ordinal);
        // Between the two oldest sets: the WAL there is no longer kept, so only a whole set can come back.
        var gap = await Assert.ThrowsAsync<StackException>(() => sets.ChooseAsync(new RestoreRequest(taken[0].AddHours(1), null, false), ct));
        Assert.Contains($"can be restored only as a whole backup: ./quartet restore {Id(taken[0])}", gap.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoSetIsAClearLine()
    {
        var sets = await SetsAsync([]);
        var none = await Assert.ThrowsAsync<StackException>(() => sets.ChooseAsync(new RestoreRequest(null, null, false), TestContext.Current.CancellationToken));
        Assert.EndsWith("take one with ./quartet backup", none.Message, StringComparison.Ordinal);
    }

    private async Task<BackupSets> SetsAsync(IReadOnlyList<DateTimeOffset> taken)
    {
        var layout = new BackupLayout(_root);
        foreach (var at in taken)
        {
            var dir = layout.SetDirectory(Id(at));
            Directory.CreateDirectory(dir);
            await new BackupManifest(Id(at), at, Id(at)[..8] + "F", 1, 1, [], at, 1).WriteAsync(dir, TestContext.Current.CancellationToken);
        }
        // ChooseAsync reads manifests only; the repository is never asked.
        return new BackupSets(layout, new PgBackRest(layout, new PostgresServer(Path.Combine(_root, "pg"), 5432, "", _root, _root)), new RetentionPolicy(7, 4, 6), _ => { });
    }

    private static string Id(DateTimeOffset at) => at.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
