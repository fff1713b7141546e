using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;

namespace Quartet.Api.Tests.Infrastructure.Redis;

/// <summary>
/// What each kind of key costs in Redis (MEMORY USAGE, which counts the key, its value and Redis's own
/// overhead for them), measured on keys the app really wrote; the figures go to the test output and
/// into docs/operations.md's capacity math. Each kind must stay under a bound, so a change that makes
/// one balloon fails here. Owns its servers, so used_memory moves for this class's keys only.
/// </summary>
public sealed partial class RedisMemoryUsageTests(PrivateStack privateStack) : IClassFixture<PrivateStack>
{
    [Fact]
    public async Task EveryKindOfKeyStaysWithinItsMeasuredSize()
    {
        var stack = privateStack.Stack;
        await using var factory = await QuartetFactory.CreateAsync(stack);
        using var client = factory.CreateHttpsClient();
        var email = await client.RegisterAndLoginAsync();
        var (_, refresh) = await client.TokenAsync(email);
        using var refreshed = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        using var wrong = await factory.CreateHttpsClient().PostAsJsonAsync("/api/auth/login", new { email, password = "not the password" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        // A typical note: a title, 1,000 characters of text, three tags.
        using var create = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/notes")
        {
            Content = JsonContent.Create(new { title = "A typical note", body = new string('x', 1000), tags = new[] { "work", "ideas", "later" } }),
            Headers = { { "Idempotency-Key", Guid.NewGuid().ToString() } },
        });
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        var id = (await create.JsonAsync()).RootElement.GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/notes/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/notes?limit=20")).StatusCode);

        var prefix = $"test:{factory.Database}:";
        var sizes = new Dictionary<string, long>();
        var report = new StringBuilder();
        foreach (var (server, name) in ((RedisServer, string)[])[(stack.Redis, "state"), (stack.RedisCache, "cache")])
        {
            var keys = (await server.CommandAsync("--scan", "--pattern", prefix + "*")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var key in keys)
            {
                var bytes = long.Parse(await server.CommandAsync("MEMORY", "USAGE", key, "SAMPLES", "0"), CultureInfo.InvariantCulture);
                var kind = $"{name} {Id().Replace(key[prefix.Length..], "<id>")}";
                sizes[kind] = Math.Max(sizes.GetValueOrDefault(kind), bytes);
                report.AppendLine(CultureInfo.InvariantCulture, $"{kind,-60} {bytes,6} bytes");
            }
        }

        // A session with everything around it, from used_memory: 30 more logins of one user.
        var before = await UsedMemoryAsync(stack.Redis);
        for (var i = 0; i < 30; i++)
        {
            using var another = factory.CreateHttpsClient();
            await another.LoginAsync(email);
        }
        var perSession = (await UsedMemoryAsync(stack.Redis) - before) / 30;
        report.AppendLine(CultureInfo.InvariantCulture, $"{"state used_memory per further session of one user",-60} {perSession,6} bytes");

        // A refresh-token rotation: the spent token stays (to tell reuse) as long as its family lives.
        var (_, current) = await client.TokenAsync(email);
        before = await UsedMemoryAsync(stack.Redis);
        for (var i = 0; i < 30; i++)
        {
            using var rotated = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = current });
            current = (await rotated.JsonAsync()).RootElement.GetProperty("refreshToken").GetString()!;
        }
        var perRotation = (await UsedMemoryAsync(stack.Redis) - before) / 30;
        report.AppendLine(CultureInfo.InvariantCulture, $"{"state used_memory per refresh-token rotation",-60} {perRotation,6} bytes");
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());

        Assert.InRange(sizes.Single(s => s.Key.StartsWith("state session:", StringComparison.Ordinal)).Value, 100, 1024);
        Assert.InRange(sizes.Single(s => s.Key.StartsWith("state refresh:", StringComparison.Ordinal)).Value, 50, 512);
        Assert.InRange(sizes.Single(s => s.Key.StartsWith("state ratelimit:writes:", StringComparison.Ordinal)).Value, 50, 256);
        Assert.All(sizes.Where(s => s.Key.StartsWith("state throttle:", StringComparison.Ordinal)), s => Assert.InRange(s.Value, 50, 256));
        Assert.InRange(sizes.Single(s => s.Key.StartsWith("cache notes:note:", StringComparison.Ordinal)).Value, 1000, 2560);
        Assert.InRange(sizes.Single(s => s.Key.StartsWith("cache notes:pages:", StringComparison.Ordinal)).Value, 100, 2048);
        Assert.DoesNotContain(sizes.Keys, k => k.StartsWith("state notes:", StringComparison.Ordinal));
        // used_memory moves with the allocator: a bound, not the figure (which the output prints).
        Assert.InRange(perSession, 100, 4096);
        Assert.InRange(perRotation, 50, 1024);
    }

    private static async Task<long> UsedMemoryAsync(RedisServer server)
    {
        var line = (await server.CommandAsync("INFO", "memory")).Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("used_memory:", StringComparison.Ordinal));
        return long.Parse(line["used_memory:".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>Ids, hashes and addresses in key names, so keys of one kind read alike.</summary>
    [GeneratedRegex("[A-Za-z0-9_-]{40,}|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}|\\d+\\.\\d+\\.\\d+\\.\\d+|::1")]
    private static partial Regex Id();
}
