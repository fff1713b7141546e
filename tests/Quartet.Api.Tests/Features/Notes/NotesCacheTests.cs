using System.Net;

namespace Quartet.Api.Tests.Features.Notes;

/// <summary>The Redis read cache: served when warm, never stale across replicas, bypassed when Redis is down.</summary>
public sealed class NotesCacheTests(SharedStack shared) : IAsyncLifetime
{
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync() => _factory = await QuartetFactory.CreateAsync(shared.Stack);

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    private static HttpRequestMessage Bearer(HttpMethod method, string url, string token) => new HttpRequestMessage(method, url).WithBearer(token);

    private static async Task<string> TitleAsync(HttpClient client, string token, Guid id) =>
        (await (await client.SendAsync(Bearer(HttpMethod.Get, $"/api/notes/{id}", token))).JsonAsync()).RootElement.GetProperty("title").GetString()!;

    [Fact]
    public async Task AWarmGetIsServedFromRedisNotPostgres()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var note = await client.CreateNoteAsync("as written");
        await client.GetAsync($"/api/notes/{note.Id}");

        // Changed behind the application's back: a cached read cannot see it.
        await _factory.Stack.ExecuteAsync(_factory.Database, $"UPDATE notes SET title = 'changed in SQL' WHERE id = '{note.Id}'");

        Assert.Equal("as written", (await (await client.GetAsync($"/api/notes/{note.Id}")).JsonAsync()).RootElement.GetProperty("title").GetString());
    }

    [Fact]
    public async Task AnUpdateOnOneReplicaIsSeenByTheOtherOnItsNextRead()
    {
        await using var replica = _factory.Replica();
        using var a = _factory.CreateHttpsClient();
        using var b = replica.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await a.RegisterAsync(email);
        var (token, _) = await a.TokenAsync(email);
        using var create = await a.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/notes")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { title = "before" }),
        }.WithBearer(token));
        var id = (await create.JsonAsync()).RootElement.GetProperty("id").GetGuid();
        Assert.Equal("before", await TitleAsync(a, token, id)); // cached by replica A
        await a.SendAsync(Bearer(HttpMethod.Get, "/api/notes", token)); // first page cached too

        using var put = Bearer(HttpMethod.Put, $"/api/notes/{id}", token);
        put.Content = System.Net.Http.Json.JsonContent.Create(new { title = "after" });
        put.Headers.TryAddWithoutValidation("If-Match", create.Headers.ETag!.ToString());
        Assert.Equal(HttpStatusCode.OK, (await b.SendAsync(put)).StatusCode); // written through replica B

        Assert.Equal("after", await TitleAsync(a, token, id));
        using var list = await a.SendAsync(Bearer(HttpMethod.Get, "/api/notes", token));
        Assert.Equal("after", (await list.JsonAsync()).RootElement.GetProperty("items")[0].GetProperty("title").GetString());
    }

    [Fact]
    public async Task ADeletedNoteIsGoneFromTheCacheAndTheFirstPage()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var note = await client.CreateNoteAsync("short-lived");
        await client.GetAsync($"/api/notes/{note.Id}");
        await client.GetAsync("/api/notes");

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteNoteAsync(note.Id, note.ETag)).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/notes/{note.Id}")).StatusCode);
        Assert.DoesNotContain(note.Id, (await client.AllPagesAsync("limit=20")).Ids());
    }
}

/// <summary>Stops Redis, so it owns its servers.</summary>
public sealed class NotesWithoutRedisTests(PrivateStack privateStack) : IClassFixture<PrivateStack>, IAsyncLifetime
{
    private TestStack _stack = null!;
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = privateStack.Stack;
        _factory = new QuartetFactory(_stack, await _stack.CreateDatabaseAsync());
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task WithRedisStoppedBearerReadsAndWritesAreAnsweredFromPostgres()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        var (token, _) = await client.TokenAsync(email);
        await client.LoginAsync(email);
        var note = await client.CreateNoteAsync("written while Redis was up", tags: ["durable"]);
        await client.GetAsync($"/api/notes/{note.Id}");

        await _stack.Redis.StopAsync(TestContext.Current.CancellationToken);
        await _stack.RedisCache.StopAsync(TestContext.Current.CancellationToken);

        using var get = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/notes/{note.Id}").WithBearer(token));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        using var list = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/notes?tag=durable").WithBearer(token));
        Assert.Equal(note.Id, (await list.JsonAsync()).RootElement.GetProperty("items")[0].GetProperty("id").GetGuid());
        using var create = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/notes")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { title = "written while Redis was down" }),
        }.WithBearer(token));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);

        // Readiness still says Redis is down; cookie sessions live in Redis, so they answer 503, not 401.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        var problem = await (await client.GetAsync("/api/notes")).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "urn:quartet:problem:unavailable");
        Assert.Contains("Redis", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        await _stack.Redis.StartAsync(TestContext.Current.CancellationToken);
        await _stack.RedisCache.StartAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task WithOnlyTheCacheRedisStoppedEverythingWorksFromPostgresAndTheStateRedis()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var note = await client.CreateNoteAsync("cached before the cache went away", tags: ["kept"]);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/notes/{note.Id}")).StatusCode);

        await _stack.RedisCache.StopAsync(TestContext.Current.CancellationToken);
        try
        {
            using var get = await client.GetAsync($"/api/notes/{note.Id}");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            var updated = await client.PutNoteAsync(note.Id, new { title = "changed without a cache", tags = new[] { "kept" } }, get.Headers.ETag!.ToString());
            Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
            using var list = await (await client.GetAsync("/api/notes?tag=kept")).JsonAsync();
            Assert.Equal("changed without a cache", list.RootElement.GetProperty("items")[0].GetProperty("title").GetString());
            await client.CreateNoteAsync("written without a cache");
            // Readiness does not wait for a cache.
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        }
        finally
        {
            await _stack.RedisCache.StartAsync(TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Idempotency-Key records live in PostgreSQL: with Redis stopped, a keyed create is made once and its retry replayed.</summary>
    [Fact]
    public async Task WithRedisStoppedABearerCreateWithAnIdempotencyKeyIsMadeOnceAndReplayed()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        var (token, _) = await client.TokenAsync(email);
        var key = Guid.NewGuid().ToString();
        HttpRequestMessage Create() => new HttpRequestMessage(HttpMethod.Post, "/api/notes")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { title = "keyed while Redis was down " + key }),
            Headers = { { "Idempotency-Key", key } },
        }.WithBearer(token);

        await _stack.Redis.StopAsync(TestContext.Current.CancellationToken);
        try
        {
            using var first = await client.SendAsync(Create());
            using var retry = await client.SendAsync(Create());

            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
            Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
            Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
            Assert.Equal(first.Headers.Location, retry.Headers.Location);
            Assert.Equal(1L, await _stack.ScalarAsync<long>(_factory.Database, $"SELECT count(*) FROM notes WHERE title = 'keyed while Redis was down {key}'"));
        }
        finally
        {
            await _stack.Redis.StartAsync(TestContext.Current.CancellationToken);
        }
    }
}

/// <summary>Without Redis:CacheEndpoint nothing is cached, in either Redis (decision 0015).</summary>
public sealed class NotesWithoutACacheRedisTests(SharedStack shared)
{
    [Fact]
    public async Task WithNoCacheEndpointReadsComeFromPostgresAndNothingIsCachedAnywhere()
    {
        await using var factory = await QuartetFactory.CreateAsync(shared.Stack, new Dictionary<string, string?> { ["Redis:CacheEndpoint"] = "" });
        using var client = factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var note = await client.CreateNoteAsync("never cached");
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/notes/{note.Id}")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/notes?limit=20")).StatusCode);
        }
        // A change made behind the app's back shows at once: nothing was served from a cache.
        await shared.Stack.ExecuteAsync(factory.Database, $"UPDATE notes SET title = 'changed by hand' WHERE id = '{note.Id}'");
        using var json = await (await client.GetAsync($"/api/notes/{note.Id}")).JsonAsync();
        Assert.Equal("changed by hand", json.RootElement.GetProperty("title").GetString());

        foreach (var server in (RedisServer[])[shared.Stack.Redis, shared.Stack.RedisCache])
        {
            Assert.Equal("", await server.CommandAsync("--scan", "--pattern", $"test:{factory.Database}:notes:*"));
        }
        Assert.NotEqual("", await shared.Stack.Redis.CommandAsync("--scan", "--pattern", $"test:{factory.Database}:session:*"));
    }
}
