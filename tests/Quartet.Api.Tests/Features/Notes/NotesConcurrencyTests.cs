using System.Net;

namespace Quartet.Api.Tests.Features.Notes;

public sealed class NotesConcurrencyTests(SharedStack shared) : ApiTest(shared, signIn: true)
{
    [Fact]
    public async Task PutAndDeleteWithoutIfMatchAre428AndChangeNothing()
    {
        var note = await Client.CreateNoteAsync("first");

        await (await Client.PutNoteAsync(note.Id, new { title = "second" }, ifMatch: null)).AssertProblemAsync((HttpStatusCode)428, "urn:quartet:problem:precondition-required");
        await (await Client.DeleteNoteAsync(note.Id, ifMatch: null)).AssertProblemAsync((HttpStatusCode)428, "urn:quartet:problem:precondition-required");

        Assert.Equal("first", (await (await Client.GetAsync($"/api/notes/{note.Id}")).JsonAsync()).RootElement.GetProperty("title").GetString());
    }

    [Fact]
    public async Task AStaleETagIs412AndTheFreshOneWins()
    {
        var note = await Client.CreateNoteAsync("v1");
        using var first = await Client.PutNoteAsync(note.Id, new { title = "v2 from tab one" }, note.ETag);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var fresh = first.Headers.ETag!.ToString();
        Assert.Equal("\"2\"", fresh);

        using var second = await Client.PutNoteAsync(note.Id, new { title = "v2 from tab two" }, note.ETag);
        await second.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "urn:quartet:problem:precondition-failed");
        await (await Client.DeleteNoteAsync(note.Id, note.ETag)).AssertProblemAsync(HttpStatusCode.PreconditionFailed, "urn:quartet:problem:precondition-failed");

        Assert.Equal("v2 from tab one", (await (await Client.GetAsync($"/api/notes/{note.Id}")).JsonAsync()).RootElement.GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteNoteAsync(note.Id, fresh)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"/api/notes/{note.Id}")).StatusCode);
    }

    [Fact]
    public async Task AWeakETagNeverMatchesAndAListMatchesAnyOfItsTags()
    {
        var note = await Client.CreateNoteAsync("v1");

        await (await Client.PutNoteAsync(note.Id, new { title = "weak" }, "W/" + note.ETag)).AssertProblemAsync(HttpStatusCode.PreconditionFailed, "urn:quartet:problem:precondition-failed");
        Assert.Equal(HttpStatusCode.OK, (await Client.PutNoteAsync(note.Id, new { title = "listed" }, $"\"7\", {note.ETag}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.PutNoteAsync(note.Id, new { title = "any" }, "*")).StatusCode);
    }

    [Fact]
    public async Task IfNoneMatchWithTheCurrentETagIs304()
    {
        var note = await Client.CreateNoteAsync("cached");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/notes/{note.Id}");
        request.Headers.TryAddWithoutValidation("If-None-Match", note.ETag);

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [Fact]
    public async Task TwoConcurrentUpdatesWithTheSameETagLetExactlyOneWin()
    {
        var note = await Client.CreateNoteAsync("race");

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Client.PutNoteAsync(note.Id, new { title = $"writer {i}" }, note.ETag)));

        Assert.Single(results, r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(7, results.Count(r => r.StatusCode == HttpStatusCode.PreconditionFailed));
    }
}
