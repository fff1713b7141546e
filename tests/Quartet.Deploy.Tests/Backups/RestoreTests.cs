using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>
/// Backups proven by restoring them: a native stack is seeded, backed up and written to; its data is
/// then destroyed and restored to a noted moment, and must hold exactly what it held then.
/// </summary>
[Trait("Category", "Backup")]
[Collection(NativeStackCollection.Name)]
public sealed class RestoreTests(NativeBackupFixture fixture)
{
    private sealed record Seeded(string Email, HttpClient Client, string Refresh, List<Guid> Notes);

    [Fact]
    public async Task RestoreToAMomentBringsBackExactlyWhatWasWrittenBeforeIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await fixture.Stack.UpAsync(ct);

        // Seed: users with notes, a browser session each, and API refresh tokens.
        var users = new List<Seeded>();
        for (var u = 0; u < 3; u++)
        {
            var client = fixture.NewClient();
            var email = await client.RegisterAndLoginAsync(ApiClient.NewEmail("restore"));
            var notes = new List<Guid>();
            for (var n = 0; n < 5; n++)
            {
                notes.Add((await client.CreateNoteAsync($"before backup {u}.{n}", $"body {n} \u00e9\u4e2d\U0001F600")).Id);
            }
            var (_, refresh) = await client.TokenAsync(email);
            users.Add(new Seeded(email, client, refresh, notes));
        }

        var backup = await fixture.Backups.TakeAsync(ct);
        Assert.NotNull(backup.VerifiedAt);

        // Written after the backup, before the moment: only the WAL archive has these.
        foreach (var user in users)
        {
            for (var n = 0; n < 5; n++)
            {
                user.Notes.Add((await user.Client.CreateNoteAsync($"after backup {n}", new string('x', 2000))).Id);
            }
            var first = await user.Client.GetAsync($"/api/notes/{user.Notes[0]}", ct);
            using var edit = await user.Client.PutNoteAsync(user.Notes[0], new { title = "edited after the backup", body = "edited", tags = Array.Empty<string>() },
                first.Headers.ETag?.ToString());
            Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        }
        var lateUser = fixture.NewClient();
        var lateEmail = await lateUser.RegisterAndLoginAsync(ApiClient.NewEmail("late"));

        var atMoment = await ChecksumsAsync(ct);
        await Task.Delay(TimeSpan.FromSeconds(1.5), ct);
        var moment = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(1.5), ct);

        // After the moment: all of this must be gone after the restore.
        var afterNotes = new List<Guid>();
        foreach (var user in users)
        {
            afterNotes.Add((await user.Client.CreateNoteAsync("after the moment")).Id);
        }
        var deleted = users[1].Notes[1];
        var current = await users[1].Client.GetAsync($"/api/notes/{deleted}", ct);
        using (var delete = await users[1].Client.DeleteNoteAsync(deleted, current.Headers.ETag?.ToString()))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        var tooLate = fixture.NewClient();
        var tooLateEmail = await tooLate.RegisterAndLoginAsync(ApiClient.NewEmail("too-late"));
        Assert.NotEqual(atMoment, await ChecksumsAsync(ct));

        // Every volume gone, as after `down -v`: the stack's data folders are removed.
        await fixture.Stack.DownAsync(ct);
        Directory.Delete(fixture.Stack.Postgres.DataDirectory, recursive: true);
        Directory.Delete(fixture.Stack.Redis.DataDirectory, recursive: true);

        var restored = await fixture.Backups.RestoreAsync(new RestoreRequest(moment, null, Force: false), ct);
        Assert.Equal(backup.Id, restored.Manifest.Id);
        await fixture.Stack.UpAsync(ct);

        // Byte for byte what the database held at the moment: every table's rows, checksummed.
        var afterRestore = await ChecksumsAsync(ct);
        Assert.Equal(atMoment, afterRestore);

        foreach (var user in users)
        {
            // The session cookie from before the backup still works (Redis came back from its snapshot)...
            using var me = await user.Client.GetAsync("/api/auth/me", ct);
            Assert.True(me.StatusCode == HttpStatusCode.OK, $"{user.Email}: session after restore: {(int)me.StatusCode}");
            foreach (var id in user.Notes)
            {
                using var note = await user.Client.GetAsync($"/api/notes/{id}", ct);
                Assert.True(note.StatusCode == HttpStatusCode.OK, $"note {id} written before the moment: {(int)note.StatusCode}");
            }
            // ...so do the refresh token and the password.
            using var refreshed = await fixture.NewClient().PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Refresh }, ct);
            Assert.True(refreshed.StatusCode == HttpStatusCode.OK, $"refresh token after restore: {(int)refreshed.StatusCode}");
            await fixture.NewClient().LoginAsync(user.Email);
        }
        foreach (var id in afterNotes)
        {
            using var note = await users[0].Client.GetAsync($"/api/notes/{id}", ct);
            Assert.NotEqual(HttpStatusCode.OK, note.StatusCode);
        }
        await fixture.NewClient().LoginAsync(lateEmail);
        using (var refused = await fixture.NewClient().PostAsJsonAsync("/api/auth/login", new { email = tooLateEmail, password = ApiClient.StrongPassword }, ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // The app is whole: ready, and it takes new accounts and notes.
        using var ready = await fixture.NewClient().GetAsync("/health/ready", ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var fresh = fixture.NewClient();
        await fresh.RegisterAndLoginAsync();
        await fresh.CreateNoteAsync("after the restore");
    }

    [Fact]
    public async Task RestoreRefusesARunningStackWithoutForce()
    {
        var ct = TestContext.Current.CancellationToken;
        if ((await fixture.Backups.ListAsync(ct)).Count == 0)
        {
            await fixture.Backups.TakeAsync(ct);
        }
        await fixture.Stack.UpAsync(ct);
        var refused = await Assert.ThrowsAsync<StackException>(() => fixture.Backups.RestoreAsync(new RestoreRequest(null, null, Force: false), ct));
        Assert.Contains("--force", refused.Message, StringComparison.Ordinal);
        Assert.True(fixture.Stack.Postgres.IsRunning && fixture.Stack.Backend.IsRunning, "a refused restore must leave the stack running");
    }

    private Task<string> ChecksumsAsync(CancellationToken ct) => RowChecksums.ComputeAsync(async (sql, token) =>
    {
        await using var db = await fixture.OpenDatabaseAsync(token);
#pragma warning disable CA2100 // table names come from the catalogue, quoted
        await using var command = new NpgsqlCommand(sql, db);
#pragma warning restore CA2100
        await using var reader = await command.ExecuteReaderAsync(token);
        var values = new List<string>();
        while (await reader.ReadAsync(token))
        {
            values.Add(reader.GetString(0));
        }
        return values;
    }, ct);
}
