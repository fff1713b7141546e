using System.Net;

namespace Quartet.Api.Tests.Features.Notes;

public sealed class NotesListTests(SharedStack shared) : ApiTest(shared, signIn: true)
{
    [Fact]
    public async Task PagingOverAChangingSetSeesEveryUnchangedNoteExactlyOnce()
    {
        var tag = "paging" + Guid.NewGuid().ToString("N")[..6];
        var notes = new List<CreatedNote>();
        for (var i = 0; i < 23; i++)
        {
            notes.Add(await Client.CreateNoteAsync($"note {i}", tags: [tag]));
        }
        var changed = new HashSet<Guid>();

        // Between pages: a new note appears, and one not yet seen and one already seen are edited.
        var seen = await Client.AllPagesAsync($"limit=5&tag={tag}", async page =>
        {
            changed.Add((await Client.CreateNoteAsync($"inserted during paging {page}", tags: [tag])).Id);
            foreach (var victim in new[] { notes[page], notes[22 - page] })
            {
                var current = await Client.GetAsync($"/api/notes/{victim.Id}");
                await Client.PutNoteAsync(victim.Id, new { title = $"edited during paging {page}", tags = new[] { tag } }, current.Headers.ETag!.ToString());
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
        var a = await Client.CreateNoteAsync("a", tags: [tag]);
        var b = await Client.CreateNoteAsync("b", tags: [tag.ToUpperInvariant()]);
        await Client.CreateNoteAsync("c", tags: ["other"]);
        await Client.PutNoteAsync(a.Id, new { title = "a edited", tags = new[] { tag } }, a.ETag);

        var items = await Client.AllPagesAsync($"tag={tag.ToUpperInvariant()}");

        Assert.Equal([a.Id, b.Id], items.Ids());
    }

    [Fact]
    public async Task SearchRanksTitleMatchesAboveBodyMatchesAndPages()
    {
        var word = "zebra" + new string(Guid.NewGuid().ToString("N").Where(char.IsLetter).Take(6).ToArray());
        var inBody = await Client.CreateNoteAsync("unrelated title", $"somewhere in the body {word} appears once");
        var inTitle = await Client.CreateNoteAsync($"{word} migration", $"all about {word} and {word} again");
        var noMatch = await Client.CreateNoteAsync("nothing", "no such word");

        var items = await Client.AllPagesAsync($"q={word}&limit=1");

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
        await Client.CreateNoteAsync("still here", "the notes table survives");

        using var response = await Client.GetAsync("/api/notes?q=" + Uri.EscapeDataString(q));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Factory.Stack.ScalarAsync<long>(Factory.Database, "SELECT count(*) FROM notes") > 0);
    }

    [Fact]
    public async Task ACursorFromASearchIsRefusedForThePlainList()
    {
        for (var i = 0; i < 3; i++)
        {
            await Client.CreateNoteAsync($"walrus {i}");
        }
        var page = (await (await Client.GetAsync("/api/notes?q=walrus&limit=1")).JsonAsync()).RootElement;
        var cursor = page.GetProperty("nextCursor").GetString()!;

        await (await Client.GetAsync("/api/notes?cursor=" + Uri.EscapeDataString(cursor))).AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
    }
}
