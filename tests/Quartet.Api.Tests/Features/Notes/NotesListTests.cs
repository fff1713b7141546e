using System.Net;
using Quartet.Api.Tests.Support;

namespace Quartet.Api.Tests.Features.Notes;

public sealed class NotesListTests : IAsyncLifetime
{
    private QuartetFactory _factory = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _factory = await QuartetFactory.CreateAsync();
        _client = _factory.CreateHttpsClient();
        await _client.RegisterAndLoginAsync();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task PagingOverAChangingSetSeesEveryUnchangedNoteExactlyOnce()
    {
        var tag = "paging" + Guid.NewGuid().ToString("N")[..6];
        var notes = new List<CreatedNote>();
        for (var i = 0; i < 23; i++)
        {
            notes.Add(await _client.CreateNoteAsync($"note {i}", tags: [tag]));
        }
        var changed = new HashSet<Guid>();

        // Between pages: a new note appears, and one not yet seen and one already seen are edited.
        var seen = await _client.AllPagesAsync($"limit=5&tag={tag}", async page =>
        {
            changed.Add((await _client.CreateNoteAsync($"inserted during paging {page}", tags: [tag])).Id);
            foreach (var victim in new[] { notes[page], notes[22 - page] })
            {
                var current = await _client.GetAsync($"/api/notes/{victim.Id}");
                await _client.PutNoteAsync(victim.Id, new { title = $"edited during paging {page}", tags = new[] { tag } }, current.Headers.ETag!.ToString());
                changed.Add(victim.Id);
            }
        });

        var ids = seen.Ids().ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count()); // no duplicates
        var unchanged = notes.Select(n => n.Id).Where(id => !changed.Contains(id)).ToList();
        Assert.NotEmpty(unchanged);
        Assert.All(unchanged, id => Assert.Contains(id, ids)); // no misses
    }

    [Fact]
    public async Task TheListIsNewestChangeFirstAndTheTagFilterIsCaseInsensitive()
    {
        var tag = "order" + Guid.NewGuid().ToString("N")[..6];
        var a = await _client.CreateNoteAsync("a", tags: [tag]);
        var b = await _client.CreateNoteAsync("b", tags: [tag.ToUpperInvariant()]);
        await _client.CreateNoteAsync("c", tags: ["other"]);
        await _client.PutNoteAsync(a.Id, new { title = "a edited", tags = new[] { tag } }, a.ETag);

        var items = await _client.AllPagesAsync($"tag={tag.ToUpperInvariant()}");

        Assert.Equal([a.Id, b.Id], items.Ids());
    }

    [Fact]
    public async Task SearchRanksTitleMatchesAboveBodyMatchesAndPages()
    {
        var word = "zebra" + new string(Guid.NewGuid().ToString("N").Where(char.IsLetter).Take(6).ToArray());
        var inBody = await _client.CreateNoteAsync("unrelated title", $"somewhere in the body {word} appears once");
        var inTitle = await _client.CreateNoteAsync($"{word} migration", $"all about {word} and {word} again");
        var noMatch = await _client.CreateNoteAsync("nothing", "no such word");

        var items = await _client.AllPagesAsync($"q={word}&limit=1");

        Assert.Equal([inTitle.Id, inBody.Id], items.Ids());
        Assert.DoesNotContain(noMatch.Id, items.Ids());
    }

    [Theory]
    [InlineData("' OR 1=1 --")]
    [InlineData("\"; DROP TABLE notes; --")]
    [InlineData("a & | ! ( ) : * <-> \\")]
    [InlineData("-")]
    [InlineData("\"unbalanced")]
    [InlineData("%_%")]
    public async Task SearchTextFullOfSqlAndTsqueryMetacharactersIsAnsweredSafely(string q)
    {
        await _client.CreateNoteAsync("still here", "the notes table survives");

        using var response = await _client.GetAsync("/api/notes?q=" + Uri.EscapeDataString(q));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await _factory.Stack.ScalarAsync<long>(_factory.Database, "SELECT count(*) FROM notes") > 0);
    }

    [Fact]
    public async Task ACursorFromASearchIsRefusedForThePlainList()
    {
        for (var i = 0; i < 3; i++)
        {
            await _client.CreateNoteAsync($"walrus {i}");
        }
        var page = (await (await _client.GetAsync("/api/notes?q=walrus&limit=1")).JsonAsync()).RootElement;
        var cursor = page.GetProperty("nextCursor").GetString()!;

        await (await _client.GetAsync("/api/notes?cursor=" + Uri.EscapeDataString(cursor))).AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
    }
}
