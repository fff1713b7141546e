using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.Notes;

/// <summary>Per-user quotas on notes: 5 notes and 4096 bytes here.</summary>
public sealed class NotesQuotaTests(SharedStack shared) : IAsyncLifetime
{
    private const int MaxNotes = 5;
    private const int MaxBytes = 4096;
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync() =>
        _factory = await QuartetFactory.CreateAsync(shared.Stack, new Dictionary<string, string?>
        {
            ["Notes:MaxNotesPerUser"] = MaxNotes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Notes:MaxBytesPerUser"] = MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    private async Task<(HttpClient Client, Guid UserId)> SignedInAsync()
    {
        var client = _factory.CreateHttpsClient();
        var email = await client.RegisterAndLoginAsync();
        return (client, await _factory.Stack.ScalarAsync<Guid>(_factory.Database, $"SELECT id FROM users WHERE email = '{email}'"));
    }

    private static Task<HttpResponseMessage> CreateAsync(HttpClient client, string title, string body = "") =>
        client.PostAsJsonAsync("/api/notes", new { title, body });

    private Task<long> NotesOfAsync(Guid userId) =>
        _factory.Stack.ScalarAsync<long>(_factory.Database, $"SELECT count(*) FROM notes WHERE owner_id = '{userId}'");

    /// <summary>The usage row agrees with the notes themselves, and each note's bytes with PostgreSQL's own count of its UTF-8.</summary>
    private async Task AssertUsageMatchesNotesAsync(Guid userId)
    {
        Assert.True(await _factory.Stack.ScalarAsync<bool>(_factory.Database, $"""
            SELECT coalesce((SELECT notes = (SELECT count(*) FROM notes WHERE owner_id = u.owner_id)
                                AND bytes = (SELECT coalesce(sum(bytes), 0) FROM notes WHERE owner_id = u.owner_id)
                             FROM note_usage u WHERE owner_id = '{userId}'), false)
            """), "note_usage differs from the user's notes");
        Assert.Equal(0L, await _factory.Stack.ScalarAsync<long>(_factory.Database, $"""
            SELECT count(*) FROM notes WHERE owner_id = '{userId}'
              AND bytes <> octet_length(title) + octet_length(body) + coalesce(octet_length(array_to_string(tags, '')), 0)
            """));
    }

    [Fact]
    public async Task ACreatePastTheNoteCountIs409QuotaExceededAndCreatesNothingUntilANoteIsDeleted()
    {
        var (client, userId) = await SignedInAsync();
        using var _ = client;
        var notes = new List<CreatedNote>();
        for (var i = 0; i < MaxNotes; i++)
        {
            notes.Add(await client.CreateNoteAsync($"note {i}"));
        }

        using var refused = await CreateAsync(client, "one too many");

        var problem = await refused.AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:quota-exceeded");
        Assert.Equal("notes", problem.GetProperty("quota").GetString());
        Assert.Equal(MaxNotes, problem.GetProperty("limit").GetInt64());
        Assert.Equal(MaxNotes, problem.GetProperty("used").GetInt64());
        Assert.Equal(MaxNotes, await NotesOfAsync(userId));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteNoteAsync(notes[0].Id, notes[0].ETag)).StatusCode);
        using var fits = await CreateAsync(client, "room again");
        Assert.Equal(HttpStatusCode.Created, fits.StatusCode);
        await AssertUsageMatchesNotesAsync(userId);
    }

    [Fact]
    public async Task ACreatePastTheByteQuotaIs409AndBytesAreCountedAsUtf8()
    {
        var (client, userId) = await SignedInAsync();
        using var _ = client;
        // 1500 two-byte characters: 3000 bytes, although 1500 characters.
        using var big = await CreateAsync(client, "é", new string('é', 1500));
        Assert.Equal(HttpStatusCode.Created, big.StatusCode);

        using var refused = await CreateAsync(client, "more", new string('x', 1100));

        var problem = await refused.AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:quota-exceeded");
        Assert.Equal("bytes", problem.GetProperty("quota").GetString());
        Assert.Equal(MaxBytes, problem.GetProperty("limit").GetInt64());
        Assert.Equal(3002, problem.GetProperty("used").GetInt64());
        Assert.Equal(1L, await NotesOfAsync(userId));
        using var fits = await CreateAsync(client, "less", new string('x', 1000));
        Assert.Equal(HttpStatusCode.Created, fits.StatusCode);
        await AssertUsageMatchesNotesAsync(userId);
    }

    [Fact]
    public async Task AFirstNoteLargerThanTheByteQuotaIsRefused()
    {
        var (client, userId) = await SignedInAsync();
        using var _ = client;

        using var refused = await CreateAsync(client, "huge", new string('x', MaxBytes));

        var problem = await refused.AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:quota-exceeded");
        Assert.Equal("bytes", problem.GetProperty("quota").GetString());
        Assert.Equal(0L, await NotesOfAsync(userId));
    }

    [Fact]
    public async Task AnUpdateThatGrowsPastTheByteQuotaIs409AndChangesNothingWhileOneThatShrinksAlwaysPasses()
    {
        var (client, userId) = await SignedInAsync();
        using var _ = client;
        var note = await client.CreateNoteAsync("grows", new string('x', 3000));

        using var refused = await client.PutNoteAsync(note.Id, new { title = "grows", body = new string('x', 4200) }, note.ETag);

        var problem = await refused.AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:quota-exceeded");
        Assert.Equal("bytes", problem.GetProperty("quota").GetString());
        using var unchanged = await client.GetAsync($"/api/notes/{note.Id}");
        Assert.Equal(note.ETag, unchanged.Headers.ETag?.ToString());

        // Over the quota (lowered below the usage by hand), a smaller replacement still passes.
        await _factory.Stack.ExecuteAsync(_factory.Database, $"UPDATE note_usage SET bytes = {MaxBytes + 10} WHERE owner_id = '{userId}'");
        using var shrunk = await client.PutNoteAsync(note.Id, new { title = "grows", body = "short" }, note.ETag);
        Assert.Equal(HttpStatusCode.OK, shrunk.StatusCode);
        await _factory.Stack.ExecuteAsync(_factory.Database, $"UPDATE note_usage SET bytes = (SELECT sum(bytes) FROM notes WHERE owner_id = '{userId}') WHERE owner_id = '{userId}'");
        await AssertUsageMatchesNotesAsync(userId);
    }

    [Fact]
    public async Task UsageFollowsCreatesUpdatesAndDeletesWithTagsAndMultiByteText()
    {
        var (client, userId) = await SignedInAsync();
        using var _ = client;
        var a = await client.CreateNoteAsync("Ünïcödé 🎉", "body with 日本語", ["tag-ä", "b"]);
        var b = await client.CreateNoteAsync("second", "x");
        using (var put = await client.PutNoteAsync(a.Id, new { title = "shorter", tags = new[] { "ü" } }, a.ETag))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }
        await AssertUsageMatchesNotesAsync(userId);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteNoteAsync(b.Id, b.ETag)).StatusCode);

        await AssertUsageMatchesNotesAsync(userId);
        Assert.Equal(1L, await _factory.Stack.ScalarAsync<int>(_factory.Database, $"SELECT notes FROM note_usage WHERE owner_id = '{userId}'"));
    }

    /// <summary>
    /// One place left under the count quota and four creates racing for it, 100 times: each time exactly
    /// one is created and three are 409, and the user ends with the quota, never more.
    /// </summary>
    [Fact]
    public async Task CreatesRacingForTheLastPlaceNeverBothPass()
    {
        var (client, userId) = await SignedInAsync();
        using var _ = client;
        for (var i = 0; i < MaxNotes - 1; i++)
        {
            await client.CreateNoteAsync($"filler {i}");
        }
        for (var round = 0; round < 100; round++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => CreateAsync(client, $"race {round} {i}")));

            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
            Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
            Assert.Equal(MaxNotes, await NotesOfAsync(userId));
            var winner = responses.Single(r => r.StatusCode == HttpStatusCode.Created);
            var id = (await winner.JsonAsync()).RootElement.GetProperty("id").GetGuid();
            Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteNoteAsync(id, winner.Headers.ETag!.ToString())).StatusCode);
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
        await AssertUsageMatchesNotesAsync(userId);
    }

    /// <summary>
    /// Room for one more 1000-byte note; a create and an update that would each add 1000 bytes race, 100
    /// times: exactly one passes, and the bytes never go past the quota.
    /// </summary>
    [Fact]
    public async Task ACreateAndAnUpdateRacingForTheLastBytesNeverBothPass()
    {
        var (client, userId) = await SignedInAsync();
        using var _ = client;
        // 2 + 2000 + 2 + 10 = 2014 bytes used, 2082 left: the create (1102 bytes) or the update (1100 more) fits, not both.
        await client.CreateNoteAsync("f1", new string('x', 2000));
        var grower = await client.CreateNoteAsync("g1", new string('y', 10));
        for (var round = 0; round < 100; round++)
        {
            var create = CreateAsync(client, "c1", new string('z', 1100));
            var update = client.PutNoteAsync(grower.Id, new { title = "g1", body = new string('y', 1110) }, grower.ETag);
            var responses = await Task.WhenAll(create, update);

            Assert.Single(responses, r => r.IsSuccessStatusCode);
            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Conflict);
            Assert.True(await _factory.Stack.ScalarAsync<long>(_factory.Database, $"SELECT sum(bytes) FROM notes WHERE owner_id = '{userId}'") <= MaxBytes);
            await AssertUsageMatchesNotesAsync(userId);

            // Back to the start: the created note goes, the grown one shrinks again.
            if (responses[0].IsSuccessStatusCode)
            {
                var id = (await responses[0].JsonAsync()).RootElement.GetProperty("id").GetGuid();
                Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteNoteAsync(id, responses[0].Headers.ETag!.ToString())).StatusCode);
            }
            else
            {
                using var shrink = await client.PutNoteAsync(grower.Id, new { title = "g1", body = new string('y', 10) }, responses[1].Headers.ETag!.ToString());
                Assert.Equal(HttpStatusCode.OK, shrink.StatusCode);
            }
            using var current = await client.GetAsync($"/api/notes/{grower.Id}");
            grower = grower with { ETag = current.Headers.ETag!.ToString() };
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }
}
