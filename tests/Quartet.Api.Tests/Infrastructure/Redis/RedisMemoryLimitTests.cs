using System.Globalization;
using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Infrastructure.Redis;

/// <summary>
/// What happens at each Redis's maxmemory (decision 0015), for real, with small limits: the state Redis
/// evicts nothing and refuses what would add data, which the client sees as 503 problem+json; the cache
/// Redis evicts notes and reads carry on from PostgreSQL. Owns its servers, since it changes their limits.
/// </summary>
public sealed class RedisMemoryLimitTests(PrivateStack privateStack) : IClassFixture<PrivateStack>, IAsyncLifetime
{
    private TestStack _stack = null!;
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = privateStack.Stack;
        _factory = await QuartetFactory.CreateAsync(_stack);
    }

    public async ValueTask DisposeAsync()
    {
        await _stack.Redis.CommandAsync("CONFIG", "SET", "maxmemory", "256mb");
        await _stack.RedisCache.CommandAsync("CONFIG", "SET", "maxmemory", "64mb");
        await _factory.DisposeAsync();
    }

    private static async Task<long> InfoAsync(RedisServer server, string section, string field)
    {
        var line = (await server.CommandAsync("INFO", section)).Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..], CultureInfo.InvariantCulture);
    }

    private Task<long> KeyCountAsync(RedisServer server) =>
        server.CommandAsync("EVAL", "return #redis.call('KEYS', ARGV[1])", "0", $"test:{_factory.Database}:*")
            .ContinueWith(t => long.Parse(t.Result, CultureInfo.InvariantCulture), TaskScheduler.Default);

    [Fact]
    public async Task AFullStateRedisEvictsNothingAndAnswers503ToWhatWouldAddDataUntilThereIsRoom()
    {
        Assert.Equal("noeviction", (await _stack.Redis.CommandAsync("CONFIG", "GET", "maxmemory-policy")).Split('\n')[^1].Trim());
        using var signedIn = _factory.CreateHttpsClient();
        var email = await signedIn.RegisterAndLoginAsync();
        var (access, _) = await signedIn.TokenAsync(email);
        var note = await signedIn.CreateNoteAsync("written before Redis was full");
        var keysBefore = await KeyCountAsync(_stack.Redis);
        var evictedBefore = await InfoAsync(_stack.Redis, "stats", "evicted_keys");

        // Full: a limit below anything it could hold. (Just below used_memory would not do: used_memory
        // counts client buffers, and it falls again as soon as the redis-cli that read it disconnects.)
        await _stack.Redis.CommandAsync("CONFIG", "SET", "maxmemory", "1");
        try
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                using var login = new HttpClient(_factory.Server.CreateHandler()) { BaseAddress = new Uri("https://localhost") };
                using var refused = await login.PostAsJsonAsync("/api/auth/login", new { email, password = ApiClient.StrongPassword });
                var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "urn:quartet:problem:unavailable");
                Assert.Equal("5", refused.Headers.GetValues("Retry-After").Single());
                Assert.DoesNotContain("OOM", problem.GetRawText(), StringComparison.Ordinal);
                using var token = await login.PostAsJsonAsync("/api/auth/token", new { email, password = ApiClient.StrongPassword });
                await token.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "urn:quartet:problem:unavailable");
            }
            // A bearer read needs no Redis write, and PostgreSQL answers it.
            using var read = await signedIn.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/notes/{note.Id}").WithBearer(access));
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);

            Assert.Equal(evictedBefore, await InfoAsync(_stack.Redis, "stats", "evicted_keys"));
            Assert.Equal(keysBefore, await KeyCountAsync(_stack.Redis));
        }
        finally
        {
            await _stack.Redis.CommandAsync("CONFIG", "SET", "maxmemory", "256mb");
        }

        // Room again: the session from before still works, and new logins do.
        using var me = await signedIn.GetAsync("/api/auth/me");
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        using var again = _factory.CreateHttpsClient();
        await again.LoginAsync(email);
    }

    [Fact]
    public async Task AFullCacheRedisEvictsCachedNotesAndEveryReadStillAnswersFromPostgres()
    {
        Assert.Equal("allkeys-lru", (await _stack.RedisCache.CommandAsync("CONFIG", "GET", "maxmemory-policy")).Split('\n')[^1].Trim());
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var used = await InfoAsync(_stack.RedisCache, "memory", "used_memory");
        // Room for about ten of the notes below.
        await _stack.RedisCache.CommandAsync("CONFIG", "SET", "maxmemory", (used + 10 * 25_000).ToString(CultureInfo.InvariantCulture));
        var evictedBefore = await InfoAsync(_stack.RedisCache, "stats", "evicted_keys");
        var stateEvictedBefore = await InfoAsync(_stack.Redis, "stats", "evicted_keys");
        try
        {
            var body = new string('n', 20_000);
            var notes = new List<CreatedNote>();
            for (var i = 0; i < 40; i++)
            {
                notes.Add(await client.CreateNoteAsync($"note {i}", body));
            }
            for (var round = 0; round < 2; round++)
            {
                foreach (var note in notes)
                {
                    using var response = await client.GetAsync($"/api/notes/{note.Id}");
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    using var json = await response.JsonAsync();
                    Assert.Equal(body, json.RootElement.GetProperty("body").GetString());
                }
            }
            Assert.True(await InfoAsync(_stack.RedisCache, "stats", "evicted_keys") > evictedBefore, "the cache evicted nothing");
            Assert.InRange(await KeyCountAsync(_stack.RedisCache), 0, 39);
            Assert.Equal(stateEvictedBefore, await InfoAsync(_stack.Redis, "stats", "evicted_keys"));
        }
        finally
        {
            await _stack.RedisCache.CommandAsync("CONFIG", "SET", "maxmemory", "64mb");
        }
    }
}
