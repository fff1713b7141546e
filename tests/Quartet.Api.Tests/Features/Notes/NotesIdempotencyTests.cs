using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.Notes;

public sealed class NotesIdempotencyTests(SharedStack shared) : ApiTest(shared, signIn: true)
{
    private Task<HttpResponseMessage> PostAsync(HttpClient client, string key, object body) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/notes")
        {
            Content = JsonContent.Create(body),
            Headers = { { "Idempotency-Key", key } },
        });

    private Task<long> CountAsync(string title) =>
        Factory.Stack.ScalarAsync<long>(Factory.Database, $"SELECT count(*) FROM notes WHERE title = '{title}'");

    [Fact]
    public async Task ARetryWithTheSameKeyAndBodyReturnsTheFirstResponseAndCreatesOneNote()
    {
        var key = Guid.NewGuid().ToString();
        var title = "retry " + key;

        using var first = await PostAsync(Client, key, new { title, tags = new[] { "a" } });
        using var retry = await PostAsync(Client, key, new { title, tags = new[] { "a" } });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(first.Headers.ETag, retry.Headers.ETag);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1L, await CountAsync(title));
    }

    [Fact]
    public async Task TheSameKeyWithAnotherBodyIs422AndCreatesNothing()
    {
        var key = Guid.NewGuid().ToString();
        await PostAsync(Client, key, new { title = "original " + key });

        using var other = await PostAsync(Client, key, new { title = "different " + key });

        await other.AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "urn:quartet:problem:idempotency-key-reused");
        Assert.Equal(0L, await CountAsync("different " + key));
    }

    [Fact]
    public async Task KeysBelongToTheirUser()
    {
        using var other = Factory.CreateHttpsClient();
        await other.RegisterAndLoginAsync();
        var key = Guid.NewGuid().ToString();
        var title = "shared key " + key;

        using var mine = await PostAsync(Client, key, new { title });
        using var theirs = await PostAsync(other, key, new { title });

        Assert.Equal(HttpStatusCode.Created, theirs.StatusCode);
        Assert.False(theirs.Headers.Contains("Idempotent-Replayed"));
        Assert.NotEqual(mine.Headers.Location, theirs.Headers.Location);
    }

    [Fact]
    public async Task ConcurrentRetriesWithOneKeyCreateOneNote()
    {
        var key = Guid.NewGuid().ToString();
        var title = "concurrent " + key;

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => PostAsync(Client, key, new { title })));

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, r.StatusCode.ToString()));
        Assert.Equal(1L, await CountAsync(title));
    }

    [Fact]
    public async Task AnInvalidKeyIs400()
    {
        await (await PostAsync(Client, new string('k', 256), new { title = "x" })).AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
    }
}
