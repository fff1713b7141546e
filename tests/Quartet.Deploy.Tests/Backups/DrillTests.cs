using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>
/// The restore drill against the shared native stack: it restores the newest backup beside the running
/// stack, which keeps serving, unchanged; it records its time, which the backend exports; and a drill of
/// a corrupted backup fails with one line and records nothing. The supervisor backs up when one is due.
/// </summary>
[Trait("Category", "Backup")]
[Collection(NativeStackCollection.Name)]
public sealed class DrillTests(NativeBackupFixture fixture)
{
    [Fact]
    public async Task TheDrillRestoresBesideTheServingStackVerifiesItRecordsItsTimeAndTheBackendExportsIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await fixture.Stack.UpAsync(ct);
        var client = fixture.NewClient();
        await client.RegisterAndLoginAsync(ApiClient.NewEmail("drill"));
        var note = await client.CreateNoteAsync("before the backup");
        var backup = await fixture.Backups.TakeAsync(ct);
        Assert.NotNull(backup.Rows);
        Assert.True(backup.Rows!["notes"] >= 1, $"the manifest counts {backup.Rows["notes"]} notes");
        // Only the WAL archive has this one: the drill must restore past the backup.
        await client.CreateNoteAsync("after the backup");

        var stack = fixture.Stack;
        var pids = Pids();
        var before = await ChecksumsAsync(ct);

        // The live stack serves throughout: a reader through nginx for the whole drill.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var served = 0;
        var failures = new List<string>();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync($"/api/notes/{note.Id}", stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        served++;
                    }
                    else
                    {
                        failures.Add($"{(int)response.StatusCode}");
                    }
                    await Task.Delay(100, stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (HttpRequestException e)
                {
                    failures.Add(e.Message);
                }
            }
        }, ct);

        var drill = new RestoreDrill(stack, fixture.Say);
        var report = await drill.RunAsync(ct);
        await stop.CancelAsync();
        await reader;

        Assert.Equal(backup.Id, report.BackupId);
        Assert.True(failures.Count == 0, $"the live stack failed {failures.Count} reads during the drill: {string.Join(", ", failures.Take(5))}");
        Assert.True(served > 5, $"only {served} reads were served during the drill");
        Assert.Equal(pids, Pids());
        Assert.Equal(before, await ChecksumsAsync(ct));
        Assert.False(Directory.Exists(drill.Directory), $"the throwaway stack's folder is left: {drill.Directory}");
        fixture.Say($"drill: {report.Seconds:0.0} s; {served} reads served by the live stack meanwhile");

        // Recorded in the live database, to the microsecond PostgreSQL keeps...
        var recorded = await BackupStatus.ReadAsync(stack.Postgres.ConnectionString(NativeStack.Database, pooling: false), ct);
        Assert.Equal(report.FinishedAt.ToUnixTimeMilliseconds(), recorded[BackupStatus.Drill].ToUnixTimeMilliseconds());
        Assert.Equal(backup.TakenAt.ToUnixTimeMilliseconds(), recorded[BackupStatus.Backup].ToUnixTimeMilliseconds());

        // ...and exported by the backend beside the backup's time.
        var drillSeconds = report.FinishedAt.ToUnixTimeMilliseconds() / 1000.0;
        var backupSeconds = backup.TakenAt.ToUnixTimeMilliseconds() / 1000.0;
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{stack.Settings.MetricsPort}/"), Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        string text;
        (double? Drill, double? Backup) exported;
        do
        {
            text = await metrics.GetStringAsync("metrics", ct);
            exported = (Gauge(text, "quartet_backup_drill_last_success_timestamp_seconds"), Gauge(text, "quartet_backup_last_success_timestamp_seconds"));
            if (exported.Drill is { } d && Math.Abs(d - drillSeconds) < 0.01)
            {
                break;
            }
            await Task.Delay(500, ct);
        }
        while (clock.Elapsed < TimeSpan.FromSeconds(45));
        Assert.True(exported.Drill is { } seen && Math.Abs(seen - drillSeconds) < 0.01,
            $"the backend exports the drill time {exported.Drill}, not {drillSeconds}:\n{string.Join('\n', text.Split('\n').Where(l => l.Contains("backup", StringComparison.Ordinal)))}");
        Assert.True(exported.Backup is { } b && Math.Abs(b - backupSeconds) < 0.01, $"the backend exports the backup time {exported.Backup}, not {backupSeconds}");
    }

    [Fact]
    public async Task ADrillOfACorruptedBackupFailsWithOneClearLineAndRecordsNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await fixture.Stack.UpAsync(ct);
        var sets = await fixture.Backups.ListAsync(ct);
        var set = sets.Count > 0 ? sets[^1] : await NewestAfterBackupAsync(ct);
        var connection = fixture.Stack.Postgres.ConnectionString(NativeStack.Database, pooling: false);
        var before = await BackupStatus.ReadAsync(connection, ct);

        var dump = Path.Combine(set.Directory, "quartet.dump");
        var bytes = await File.ReadAllBytesAsync(dump, ct);
        var at = bytes.Length / 2;
        bytes[at] ^= 0x01;
        await File.WriteAllBytesAsync(dump, bytes, ct);
        StackException failure;
        try
        {
            failure = await Assert.ThrowsAsync<StackException>(() => new RestoreDrill(fixture.Stack, fixture.Say).RunAsync(ct));
        }
        finally
        {
            bytes[at] ^= 0x01;
            await File.WriteAllBytesAsync(dump, bytes, ct);
        }

        Assert.Equal($"drill failed: backup {set.Manifest.Id}: quartet.dump does not match its checksum", failure.Message);
        var after = await BackupStatus.ReadAsync(connection, ct);
        Assert.Equal(before.GetValueOrDefault(BackupStatus.Drill), after.GetValueOrDefault(BackupStatus.Drill));
        Assert.Empty(await set.Manifest.CheckFilesAsync(set.Directory, ct));
    }

    [Fact]
    public async Task TheSupervisorBacksUpWhenTheLastBackupIsOlderThanItsInterval()
    {
        var ct = TestContext.Current.CancellationToken;
        await fixture.Stack.UpAsync(ct);
        var connection = fixture.Stack.Postgres.ConnectionString(NativeStack.Database, pooling: false);
        var stale = DateTimeOffset.UtcNow.AddHours(-2);
        await BackupStatus.RecordAsync(connection, BackupStatus.Backup, stale, "made stale by a test", ct);
        var setsBefore = (await fixture.Backups.ListAsync(ct)).Select(s => s.Manifest.Id).ToList();
        var drillBefore = (await BackupStatus.ReadAsync(connection, ct)).GetValueOrDefault(BackupStatus.Drill);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var supervisor = new Supervisor(fixture.Stack, fixture.Say)
        {
            Schedule = new BackupSchedule(Backup: TimeSpan.FromHours(1), Drill: null),
            ScheduleCheck = TimeSpan.FromMilliseconds(200),
        };
        var running = supervisor.RunAsync(stop.Token);
        try
        {
            var clock = Stopwatch.StartNew();
            while ((await BackupStatus.ReadAsync(connection, ct))[BackupStatus.Backup] <= stale)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"no scheduled backup within 3 minutes: {string.Join(" | ", fixture.Said.TakeLast(5))}");
                await Task.Delay(250, ct);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
        // A new set (retention keeps one a day, so the count may stay as it was), and its time recorded.
        var sets = await fixture.Backups.ListAsync(ct);
        Assert.DoesNotContain(sets[^1].Manifest.Id, setsBefore);
        var recorded = await BackupStatus.ReadAsync(connection, ct);
        Assert.Equal(sets[^1].Manifest.TakenAt.ToUnixTimeMilliseconds(), recorded[BackupStatus.Backup].ToUnixTimeMilliseconds());
        Assert.Equal(drillBefore, recorded.GetValueOrDefault(BackupStatus.Drill));
    }

    private async Task<BackupSetInfo> NewestAfterBackupAsync(CancellationToken ct)
    {
        await fixture.Backups.TakeAsync(ct);
        return (await fixture.Backups.ListAsync(ct))[^1];
    }

    private string Pids() => string.Join(",", ((ServerProcess[])[fixture.Stack.Nginx, fixture.Stack.Backend, fixture.Stack.Postgres, fixture.Stack.Redis, fixture.Stack.RedisCache])
        .Select(s => $"{s.Name}={s.Pid}"));

    private static double? Gauge(string text, string name) =>
        Regex.Match(text, $@"(?m)^{name}(?:\{{[^}}]*\}})? ([0-9.e+E-]+)") is { Success: true } m
            ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
            : null;

    /// <summary>Every row of every table but backup_status (which the drill writes on purpose), per table.</summary>
    private async Task<string> ChecksumsAsync(CancellationToken ct)
    {
        await using var db = await fixture.OpenDatabaseAsync(ct);
        var sums = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var table in (await LogicalDump.CountRowsAsync(db, null, ct)).Keys.Where(t => t != "backup_status"))
        {
#pragma warning disable CA2100 // table names come from the catalogue, quoted
            var rows = table == "mail_outbox" ? "(SELECT id, template, recipient, user_id, created_at FROM mail_outbox)" : $"\"{table}\"";
            await using var sum = new NpgsqlCommand($"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {rows} t", db);
#pragma warning restore CA2100
            sums[table] = (string)(await sum.ExecuteScalarAsync(ct))!;
        }
        return JsonSerializer.Serialize(sums);
    }
}
