using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Infrastructure.Redis;

/// <summary>
/// Redis:Protocol reaches the connection, and every script's reply reads the same on RESP2 as on RESP3:
/// sessions, the login throttle, refresh tokens and the notes cache all answer as they should on both.
/// Owns its servers, so the connections it counts are this app's.
/// </summary>
public sealed class RedisProtocolTests(PrivateStack privateStack) : IClassFixture<PrivateStack>
{
    [Theory]
    [InlineData("Resp2", 2)]
    [InlineData("Resp3", 3)]
    public async Task EveryRedisUseWorksOnEitherProtocolOverOneConnection(string protocol, int resp)
    {
        var stack = privateStack.Stack;
        await using var factory = await QuartetFactory.CreateAsync(stack, new Dictionary<string, string?> { ["Redis:Protocol"] = protocol });
        using var client = factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/api/auth/login", new { email, password = "wrong password!" })).StatusCode);
        await client.LoginAsync(email);
        var note = await client.CreateNoteAsync("on either protocol");
        for (var i = 0; i < 2; i++) // the second of each is answered from the cache
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/notes/{note.Id}")).StatusCode);
            using var list = await (await client.GetAsync("/api/notes?limit=20")).JsonAsync();
            Assert.Equal(note.Id, list.RootElement.GetProperty("items")[0].GetProperty("id").GetGuid());
        }
        using var sessions = await (await client.GetAsync("/api/account/sessions")).JsonAsync();
        Assert.Equal(1, sessions.RootElement.GetArrayLength());
        var (_, refresh) = await client.TokenAsync(email);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/auth/logout", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/auth/me")).StatusCode);

        // One multiplexer, and no subscription connection beside it. (The other case's app may still be
        // listed while its connection closes, but on the other protocol.)
        var clients = await stack.Redis.CommandAsync("CLIENT", "LIST");
        Assert.Single(clients.Split('\n'), line => line.Contains("name=quartet ", StringComparison.Ordinal) && line.TrimEnd().EndsWith($"resp={resp}", StringComparison.Ordinal));
        var cacheClients = await stack.RedisCache.CommandAsync("CLIENT", "LIST");
        Assert.Single(cacheClients.Split('\n'), line => line.Contains("name=quartet-cache ", StringComparison.Ordinal) && line.TrimEnd().EndsWith($"resp={resp}", StringComparison.Ordinal));

        // All of it as the ACL user of deploy/redis/quartet.acl, on both servers, with no command refused:
        // not the ones the client sends by itself at connect, nor any a script calls.
        foreach (var server in (RedisServer[])[stack.Redis, stack.RedisCache])
        {
            var refusals = await server.CommandAsync("ACL", "LOG");
            Assert.True(refusals == "", $"{server.Name} refused:\n{refusals}");
            Assert.Contains($"user {RedisServer.AppUser} on ", await server.CommandAsync("ACL", "LIST"), StringComparison.Ordinal);
        }
    }
}
