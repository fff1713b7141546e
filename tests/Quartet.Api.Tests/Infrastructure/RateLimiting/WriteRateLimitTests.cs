using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Infrastructure.RateLimiting;

/// <summary>
/// The per-user limit on writes under /api, counted in the state Redis: exact under racing requests,
/// by session or bearer token, shared by replicas, per user, answered 429 problem+json with Retry-After,
/// and never counting reads.
/// </summary>
public sealed class WriteRateLimitTests(SharedStack shared) : IAsyncLifetime
{
    private const int Limit = 5;
    private QuartetFactory _factory = null!;

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["WriteLimits:RequestsPerWindow"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["WriteLimits:Window"] = "00:10:00",
    };

    public async ValueTask InitializeAsync() => _factory = await QuartetFactory.CreateAsync(shared.Stack, Settings);

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    private static HttpRequestMessage NewNote(string title, string? bearer)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/notes") { Content = JsonContent.Create(new { title }) };
        return bearer is null ? request : request.WithBearer(bearer);
    }

    [Fact]
    public async Task RacingWritesAtTheLimitLetExactlyTheLimitThroughBySessionAndByBearer()
    {
        const int parallel = 16;
        for (var round = 0; round < 12; round++)
        {
            using var client = _factory.CreateHttpsClient();
            var email = await client.RegisterAndLoginAsync();
            // The token from a client without the cookie: a signed-in POST /api/auth/token would count as a write.
            using var anonymous = _factory.CreateHttpsClient();
            var bearer = round % 2 == 0 ? null : (await anonymous.TokenAsync(email)).Access;

            using var start = new SemaphoreSlim(0);
            var racers = Enumerable.Range(0, parallel).Select(async i =>
            {
                await start.WaitAsync();
                return await client.SendAsync(NewNote($"race {round} {i}", bearer));
            }).ToList();
            start.Release(parallel);
            var responses = await Task.WhenAll(racers);

            var statuses = string.Join(' ', responses.Select(r => (int)r.StatusCode));
            Assert.True(responses.Count(r => r.StatusCode == HttpStatusCode.Created) == Limit, $"round {round}: {statuses}");
            var refused = responses.Where(r => r.StatusCode != HttpStatusCode.Created).ToList();
            Assert.Equal(parallel - Limit, refused.Count);
            foreach (var response in refused)
            {
                var problem = await response.AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
                Assert.Contains("Try again in", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
                var retryAfter = response.Headers.RetryAfter?.Delta ?? throw new Xunit.Sdk.XunitException("no Retry-After");
                Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
            }
            // The refused writes changed nothing: exactly the allowed notes exist.
            using var list = await (await client.GetAsync("/api/notes?limit=100")).JsonAsync();
            Assert.Equal(Limit, list.RootElement.GetProperty("items").GetArrayLength());
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task EveryWriteMethodCountsReadsDoNotAndLogoutStillWorksAtTheLimit()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var note = await client.CreateNoteAsync("first");                                              // 1
        using var put = await client.PutNoteAsync(note.Id, new { title = "second" }, note.ETag);       // 2
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/notes/{note.Id}")).StatusCode);
        }
        var other = await client.CreateNoteAsync("third");                                             // 3
        using var delete = await client.DeleteNoteAsync(other.Id, other.ETag);                         // 4
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        await client.CreateNoteAsync("fifth");                                                         // 5

        await (await client.SendAsync(NewNote("sixth", null))).AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
        await (await client.PutNoteAsync(note.Id, new { title = "again" }, put.Headers.ETag!.ToString()))
            .AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/notes")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/auth/logout", null)).StatusCode);
    }

    [Fact]
    public async Task TheLimitIsPerUserAndSharedByEveryReplica()
    {
        await using var replica = _factory.Replica(settings: Settings);
        using var first = _factory.CreateHttpsClient();
        var email = await first.RegisterAndLoginAsync();
        using var second = replica.CreateHttpsClient();
        await second.LoginAsync(email);
        for (var i = 0; i < Limit; i++)
        {
            await (i % 2 == 0 ? first : second).CreateNoteAsync($"note {i}");
        }
        await (await first.SendAsync(NewNote("over", null))).AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
        await (await second.SendAsync(NewNote("over", null))).AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");

        using var someoneElse = replica.CreateHttpsClient();
        await someoneElse.RegisterAndLoginAsync();
        await someoneElse.CreateNoteAsync("not limited by another user's writes");
    }

    [Fact]
    public async Task AWindowThatHasPassedAllowsWritesAgain()
    {
        await using var factory = await QuartetFactory.CreateAsync(shared.Stack, new Dictionary<string, string?>
        {
            ["WriteLimits:RequestsPerWindow"] = "1",
            ["WriteLimits:Window"] = "00:00:01",
        });
        using var client = factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        await client.CreateNoteAsync("one");
        using var refused = await client.SendAsync(NewNote("two", null));
        await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "urn:quartet:problem:throttled");
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);

        // Redis expires the counter by its own clock; the test waits past it and does not time anything.
        await Task.Delay(TimeSpan.FromMilliseconds(1500), TestContext.Current.CancellationToken);
        await client.CreateNoteAsync("two, in the next window");
    }

    [Theory]
    [InlineData("0", "00:01:00")]
    [InlineData("60", "00:00:00")]
    [InlineData("60", "2.00:00:00")]
    public async Task InvalidLimitsStopTheStart(string requests, string window)
    {
        var secrets = new TestSecrets(shared.Stack);
        var environment = BackendProcess.Environment(shared.Stack, await shared.Stack.CreateDatabaseAsync(), secrets);
        environment["WriteLimits__RequestsPerWindow"] = requests;
        environment["WriteLimits__Window"] = window;
        var result = await BackendProcess.RunAsync(environment, null, "serve");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(result.ErrorLines, l => l.StartsWith("Invalid configuration: ", StringComparison.Ordinal)
            && (l.Contains("WriteLimits", StringComparison.Ordinal) || l.Contains("RequestsPerWindow", StringComparison.Ordinal)));
    }
}
