using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Docker.DotNet.Models;
using Quartet.Deploy.Tests.Backups;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// The production stack's backups proven by restoring them (decision 0021): seeded, backed up with
/// <c>./quartet backup</c>, written to; every volume of the project removed (<c>down -v</c>); restored with
/// <c>./quartet restore --to</c> a noted moment, after which it must hold exactly what it held then.
/// </summary>
public sealed partial class ProductionStackTests
{
    private sealed record Seeded(StackUser User, string Refresh, List<Guid> Notes);

    [Fact, Step(30)]
    public async Task RestoreAfterDownWithVolumesBringsBackExactlyTheNotedMoment()
    {
        Stack.RequireUp();
        var users = new List<Seeded>();
        for (var u = 0; u < 3; u++)
        {
            var (client, cookies) = Stack.NewClient();
            var email = await client.RegisterAndLoginAsync(ApiClient.NewEmail("compose-restore"));
            var notes = new List<Guid>();
            for (var n = 0; n < 5; n++)
            {
                notes.Add((await client.CreateNoteAsync($"before backup {u}.{n}", $"body {n} \u00e9\u4e2d\U0001F600")).Id);
            }
            var (_, refresh) = await client.TokenAsync(email);
            users.Add(new Seeded(new StackUser(email, client, cookies, notes[0]), refresh, notes));
        }
        Say($"seeded {users.Count} users, {users.Sum(u => u.Notes.Count)} notes, a session cookie and a refresh token each");

        var refused = await QuartetAsync("restore");
        Say($"./quartet restore on the running stack: exit {refused.ExitCode}: {refused.Tail(2).ReplaceLineEndings(" ")}");
        Assert.True(refused.ExitCode != 0 && refused.Output.Contains("--force", StringComparison.Ordinal),
            $"restore on a running stack must refuse and name --force (exit {refused.ExitCode})\n{refused.Tail()}");
        Assert.True(await ComposeStack.SessionWorksWithinAsync(users[0].User, TimeSpan.FromSeconds(10), Cancellation), "the refused restore broke the running stack");

        var backup = await QuartetAsync("backup");
        Assert.True(backup.Succeeded, $"./quartet backup exited with {backup.ExitCode}\n{backup.Tail()}");
        var done = BackupDone().Match(backup.Output);
        Assert.True(done.Success, $"./quartet backup did not report a finished set\n{backup.Tail()}");
        Say($"./quartet backup: {done.Value}");
        var listed = await QuartetAsync("backups", "--verify");
        Assert.True(listed.Succeeded && listed.Output.Contains(done.Groups["id"].Value, StringComparison.Ordinal) && listed.Output.Contains("just now: ok", StringComparison.Ordinal),
            $"./quartet backups --verify exited with {listed.ExitCode} or did not list {done.Groups["id"].Value} as verified\n{listed.Tail()}");
        Say($"./quartet backups --verify:\n{listed.Output.Trim()}");
        await BackupsAreEncryptedAsync(done.Groups["id"].Value);

        // The drill restores that set beside the running stack and checks it, the stack serving throughout.
        var drill = await QuartetAsync("drill");
        Say($"./quartet drill: exit {drill.ExitCode}: {drill.Tail(3).ReplaceLineEndings(" ")}");
        Assert.True(drill.Succeeded && drill.Output.Contains($"drill passed", StringComparison.Ordinal)
            && drill.Output.Contains($"the dump of backup {done.Groups["id"].Value} loads and holds the rows its manifest counted", StringComparison.Ordinal),
            $"./quartet drill exited with {drill.ExitCode} or did not check backup {done.Groups["id"].Value}\n{drill.Tail()}");
        Assert.True(await ComposeStack.SessionWorksWithinAsync(users[0].User, TimeSpan.FromSeconds(10), Cancellation), "the drill disturbed the running stack");

        // Written after the backup, before the moment: only the WAL archive has these.
        foreach (var seeded in users)
        {
            for (var n = 0; n < 5; n++)
            {
                seeded.Notes.Add((await seeded.User.Client.CreateNoteAsync($"after backup {n}", new string('x', 2000))).Id);
            }
            var first = await seeded.User.Client.GetAsync($"/api/notes/{seeded.Notes[0]}", Cancellation);
            using var edit = await seeded.User.Client.PutNoteAsync(seeded.Notes[0], new { title = "edited after the backup", body = "edited", tags = Array.Empty<string>() },
                first.Headers.ETag?.ToString());
            Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        }
        var (lateClient, _) = Stack.NewClient();
        var lateEmail = await lateClient.RegisterAndLoginAsync(ApiClient.NewEmail("late"));

        // The outbox worker of the prod stack (no mail server here) mints a token at every attempt, before
        // and after the restore: tokens count when minted 2 s before the checksum at the latest.
        var tokensBy = DateTimeOffset.UtcNow.AddSeconds(-2);
        var atMoment = await ChecksumsAsync(tokensBy);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Cancellation);
        var moment = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(1.5), Cancellation);

        // After the moment: all of this must be gone after the restore.
        var afterNotes = new List<Guid>();
        foreach (var seeded in users)
        {
            afterNotes.Add((await seeded.User.Client.CreateNoteAsync("after the moment")).Id);
        }
        var deleted = users[1].Notes[1];
        var current = await users[1].User.Client.GetAsync($"/api/notes/{deleted}", Cancellation);
        using (var delete = await users[1].User.Client.DeleteNoteAsync(deleted, current.Headers.ETag?.ToString()))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        var (tooLateClient, _) = Stack.NewClient();
        var tooLateEmail = await tooLateClient.RegisterAndLoginAsync(ApiClient.NewEmail("too-late"));
        Assert.NotEqual(atMoment, await ChecksumsAsync(tokensBy));

        // The segment holding the moment reaches the archive now rather than within archive_timeout (60 s).
        var segment = (await PsqlAsync("SELECT pg_walfile_name(pg_switch_wal())")).Single();
        var archived = Stopwatch.StartNew();
        while (string.CompareOrdinal((await PsqlAsync("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")).Single(), segment) < 0)
        {
            Assert.True(archived.Elapsed < TimeSpan.FromSeconds(90), $"WAL segment {segment} was not archived within 90 s");
            await Task.Delay(500, Cancellation);
        }
        Say($"WAL segment {segment} archived");

        var down = await Stack.ComposeAsync(Cancellation, "down", "-v", "--timeout", "20");
        Assert.True(down.Succeeded, $"down -v exited with {down.ExitCode}\n{down.Tail()}");
        var volumes = await Suite.Docker.Volumes.ListAsync(new VolumesListParameters { Filters = ComposeSuite.ProjectFilter() }, Cancellation);
        Assert.True((volumes.Volumes ?? []).Count == 0, $"down -v left volumes: {string.Join(", ", (volumes.Volumes ?? []).Select(v => v.Name))}");
        Say("down -v: every volume of the project removed");

        var restoreClock = Stopwatch.StartNew();
        var restore = await QuartetAsync("restore", "--to", moment.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        Assert.True(restore.Succeeded, $"./quartet restore --to {moment:O} exited with {restore.ExitCode}\n{restore.Tail(30)}");
        Say($"./quartet restore --to {moment:O} (both steps and up until healthy): {restoreClock.Elapsed.TotalSeconds:0.0} s\n{restore.Output.Trim()}");

        var afterRestore = await ChecksumsAsync(tokensBy);
        Assert.True(atMoment == afterRestore, $"the restored rows differ from the moment's\nat the moment:  {atMoment}\nafter restore: {afterRestore}");
        Say("every table's rows, checksummed, are those of the moment");

        foreach (var seeded in users)
        {
            Assert.True(await ComposeStack.SessionWorksWithinAsync(seeded.User, TimeSpan.FromSeconds(30), Cancellation),
                $"{seeded.User.Email}: the session cookie from before the backup does not work after the restore");
            foreach (var id in seeded.Notes)
            {
                using var note = await seeded.User.Client.GetAsync($"/api/notes/{id}", Cancellation);
                Assert.True(note.StatusCode == HttpStatusCode.OK, $"note {id} written before the moment: {(int)note.StatusCode}");
            }
            var (fresh, _) = Stack.NewClient();
            using var refreshed = await fresh.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = seeded.Refresh }, Cancellation);
            Assert.True(refreshed.StatusCode == HttpStatusCode.OK, $"{seeded.User.Email}: refresh token after restore: {(int)refreshed.StatusCode}");
            await Stack.NewClient().Client.LoginAsync(seeded.User.Email);
        }
        foreach (var id in afterNotes)
        {
            using var note = await users[0].User.Client.GetAsync($"/api/notes/{id}", Cancellation);
            Assert.True(note.StatusCode != HttpStatusCode.OK, $"note {id}, written after the moment, is back");
        }
        await Stack.NewClient().Client.LoginAsync(lateEmail);
        using (var tooLate = await Stack.NewClient().Client.PostAsJsonAsync("/api/auth/login", new { email = tooLateEmail, password = ApiClient.StrongPassword }, Cancellation))
        {
            Assert.True(tooLate.StatusCode == HttpStatusCode.Unauthorized, $"the account made after the moment logs in ({(int)tooLate.StatusCode})");
        }
        Say("sessions, refresh tokens and passwords from before work; notes and accounts from after the moment are gone");

        var (visitor, _) = Stack.NewClient();
        using var ready = await visitor.GetAsync("/health/ready", Cancellation);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var spa = await visitor.GetAsync("/", Cancellation);
        var html = await spa.Content.ReadAsStringAsync(Cancellation);
        Assert.True(spa.StatusCode == HttpStatusCode.OK && html.Contains("<html", StringComparison.OrdinalIgnoreCase), $"GET / after the restore: {(int)spa.StatusCode}");
        await visitor.RegisterAndLoginAsync();
        await visitor.CreateNoteAsync("after the restore");
        Say("health ready, the SPA through nginx, a new account and note: the restored stack is whole");
    }

    /// <summary>
    /// QUARTET_BACKUP_ENCRYPTION=on (the suite's production setting, decision 0031): pgBackRest's repository is
    /// encrypted, the set holds only .enc files, no plaintext dump or snapshot is anywhere in the backups volume
    /// (the one copied off the machine), and the scratch volume is empty between runs.
    /// </summary>
    private async Task BackupsAreEncryptedAsync(string id)
    {
        var backup = await Stack.ContainerAsync("backup", Cancellation);
        var (exit, info) = await Stack.ExecAsync(backup.ID, ["quartet-pgbackrest", "--stanza=quartet", "info", "--output=json"], Cancellation);
        Assert.True(exit == 0 && info.Contains("\"cipher\":\"aes-256-cbc\"", StringComparison.Ordinal), $"pgbackrest info (exit {exit}) does not report aes-256-cbc: {info}");
        var (_, files) = await Stack.ExecAsync(backup.ID, ["ls", $"/var/lib/pgbackrest/sets/{id}"], Cancellation);
        var names = files.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();
        Assert.True(names.SequenceEqual(["manifest.json", "quartet.dump.enc", "redis.rdb.enc"]), $"backup {id} holds: {string.Join(", ", names)}");
        var (_, plain) = await Stack.ExecAsync(backup.ID, ["find", "/var/lib/pgbackrest", "-name", "quartet.dump", "-o", "-name", "*.rdb"], Cancellation);
        Assert.True(plain.Trim().Length == 0, $"plaintext in the backups volume: {plain}");
        var (_, scratch) = await Stack.ExecAsync(backup.ID, ["find", "/var/lib/quartet/scratch", "-mindepth", "1"], Cancellation);
        Assert.True(scratch.Trim().Length == 0, $"the scratch volume still holds: {scratch}");
        var passphrase = await File.ReadAllTextAsync(Path.Combine(Suite.SecretsDirectory, "backup_passphrase"), Cancellation);
        Assert.DoesNotContain(passphrase, info, StringComparison.Ordinal);
        Say($"backup {id}: the repository is aes-256-cbc, the set holds manifest.json, quartet.dump.enc and redis.rdb.enc, no plaintext in the backups volume");
    }

    private Task<HostCommandResult> QuartetAsync(params string[] arguments) =>
        Suite.RunAsync([Path.Combine(Suite.Root, "quartet"), .. arguments], Suite.Environment(Stack.Port), TimeSpan.FromMinutes(20), Cancellation);

    /// <summary>psql as the superuser on the postgres container's socket: the first column of each row.</summary>
    private async Task<IReadOnlyList<string>> PsqlAsync(string sql)
    {
        var postgres = await Stack.ContainerAsync("postgres", Cancellation);
        var (exit, output) = await Stack.ExecAsync(postgres.ID, ["psql", "-h", "/var/run/postgresql", "-U", "quartet", "-d", "quartet", "-AtX", "-v", "ON_ERROR_STOP=1", "-c", sql], Cancellation);
        Assert.True(exit == 0, $"psql exited with {exit}: {output}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private Task<string> ChecksumsAsync(DateTimeOffset tokensBy) => RowChecksums.ComputeAsync((sql, _) => PsqlAsync(sql), Cancellation, tokensBy);

    /// <summary>quartet-backup's line for a set it took and verified; the Swarm test reads it too.</summary>
    [GeneratedRegex(@"backup (?<id>[0-9TZ]+) done in [0-9.]+ s: .*")]
    internal static partial Regex BackupDone();
}
