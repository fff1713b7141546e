using System.Net;

namespace Quartet.Api.Tests.Features.Notes;

/// <summary>Another user's note is invisible on every path: 404, never 403, and absent from every list.</summary>
public sealed class NotesIsolationTests(SharedStack shared) : IAsyncLifetime
{
    private QuartetFactory _factory = null!;
    private HttpClient _alice = null!;
    private HttpClient _bob = null!;
    private CreatedNote _aliceNote = null!;

    public async ValueTask InitializeAsync()
    {
        _factory = await QuartetFactory.CreateAsync(shared.Stack);
        _alice = _factory.CreateHttpsClient();
        _bob = _factory.CreateHttpsClient();
        await _alice.RegisterAndLoginAsync();
        await _bob.RegisterAndLoginAsync();
        _aliceNote = await _alice.CreateNoteAsync("Alice's secret plan", "rhubarb crumble recipe", ["private"]);
        await _bob.CreateNoteAsync("Bob's note", "nothing about crumble here", ["public"]);
    }

    public async ValueTask DisposeAsync()
    {
        _alice.Dispose();
        _bob.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task GetUpdateAndDeleteOfAnotherUsersNoteAre404AndChangeNothing()
    {
        var id = _aliceNote.Id;

        await (await _bob.GetAsync($"/api/notes/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");
        await (await _bob.PutNoteAsync(id, new { title = "pwned" }, _aliceNote.ETag)).AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");
        await (await _bob.PutNoteAsync(id, new { title = "pwned" }, "*")).AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");
        await (await _bob.DeleteNoteAsync(id, _aliceNote.ETag)).AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");
        await (await _bob.DeleteNoteAsync(id, "*")).AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");

        using var mine = await _alice.GetAsync($"/api/notes/{id}");
        Assert.Equal("Alice's secret plan", (await mine.JsonAsync()).RootElement.GetProperty("title").GetString());
        Assert.Equal(_aliceNote.ETag, mine.Headers.ETag!.ToString());
    }

    [Fact]
    public async Task AnUnknownNoteAnswersExactlyLikeAnotherUsersNote()
    {
        using var theirs = await _bob.GetAsync($"/api/notes/{_aliceNote.Id}");
        using var none = await _bob.GetAsync($"/api/notes/{Guid.NewGuid()}");

        var a = await theirs.AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");
        var b = await none.AssertProblemAsync(HttpStatusCode.NotFound, "urn:quartet:problem:not-found");
        Assert.Equal(a.GetProperty("detail").GetString(), b.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("limit=100")]
    [InlineData("tag=private")]
    [InlineData("q=crumble")]
    [InlineData("q=rhubarb")]
    [InlineData("q=crumble&tag=private")]
    public async Task NoListSearchOrTagFilterReturnsAnotherUsersNote(string query)
    {
        var items = await _bob.AllPagesAsync(query);

        Assert.DoesNotContain(_aliceNote.Id, items.Ids());
        Assert.All(items, i => Assert.DoesNotContain("Alice", i.GetProperty("title").GetString(), StringComparison.Ordinal));
    }
}
