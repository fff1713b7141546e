using System.Text.RegularExpressions;

namespace Quartet.Api.Tests.Infrastructure.Redis;

/// <summary>
/// Both Redis servers, configured as native mode configures them (deploy/redis/quartet.acl): the app's
/// user reaches its own keys only and none of the administration, the default user cannot log in, and
/// the rules grant every command the backend's scripts call. (That the app works as this user, with no
/// command refused, is RedisProtocolTests'.)
/// </summary>
public sealed partial class RedisAclTests(PrivateStack privateStack) : IClassFixture<PrivateStack>
{
    /// <summary>How Redis words an ACL refusal, directly (NOPERM) or inside a script.</summary>
    private const string Refused = "NOPERM|can't access|can't run|no permissions";

    private RedisServer Server(string which) => which == "state" ? privateStack.Stack.Redis : privateStack.Stack.RedisCache;

    private Task<string> AsAppAsync(string which, params string[] command) =>
        Server(which).CommandAsAsync(RedisServer.AppUser, Server(which).Password, command);

    [Theory]
    [InlineData("state")]
    [InlineData("cache")]
    public async Task TheAppUserReadsAndWritesItsPrefixOnlyAndNoAdministration(string which)
    {
        var own = $"{TestStack.RedisKeyPrefix}acl:{Guid.NewGuid():N}";
        Assert.Equal("OK", await AsAppAsync(which, "SET", own, "mine"));
        Assert.Equal("mine", await AsAppAsync(which, "GET", own));

        var outside = $"quartet-other:{Guid.NewGuid():N}";
        Assert.Equal("OK", await Server(which).CommandAsync("SET", outside, "theirs"));
        Assert.Contains("NOPERM", await AsAppAsync(which, "GET", outside), StringComparison.Ordinal);
        Assert.Contains("NOPERM", await AsAppAsync(which, "SET", outside, "overwritten"), StringComparison.Ordinal);
        Assert.Contains("NOPERM", await AsAppAsync(which, "DEL", outside), StringComparison.Ordinal);
        // Nor through a script, whether it declares the key or not.
        Assert.Matches(Refused, await AsAppAsync(which, "EVAL", "return redis.call('GET', KEYS[1])", "1", outside));
        Assert.Matches(Refused, await AsAppAsync(which, "EVAL", $"return redis.call('SET', '{outside}', 'x')", "0"));
        Assert.Equal("theirs", await Server(which).CommandAsync("GET", outside));

        foreach (var command in (string[][])[
            ["FLUSHALL"], ["FLUSHDB"], ["CONFIG", "SET", "maxmemory", "0"], ["CONFIG", "GET", "*"], ["KEYS", "*"], ["SCAN", "0"],
            ["DEBUG", "SLEEP", "0"], ["INFO"], ["ACL", "LIST"], ["CLIENT", "LIST"], ["SHUTDOWN", "NOSAVE"], ["SCRIPT", "FLUSH"],
            ["PUBLISH", "channel", "x"], ["SUBSCRIBE", "channel"], ["SAVE"], ["BGREWRITEAOF"], ["SLAVEOF", "127.0.0.1", "1"]])
        {
            // DEBUG is also off for everyone (enable-debug-command), which answers first; DRYRUN asks the ACL alone.
            Assert.Matches(command[0] == "DEBUG" ? "NOPERM|DEBUG command not allowed" : "NOPERM", await AsAppAsync(which, command));
            Assert.Contains("no permissions", await Server(which).CommandAsync(["ACL", "DRYRUN", RedisServer.AppUser, .. command]), StringComparison.Ordinal);
        }
        Assert.Matches(Refused, await AsAppAsync(which, "EVAL", "return redis.call('FLUSHALL')", "0"));
        Assert.Equal("mine", await AsAppAsync(which, "GET", own)); // nothing above went through
        Assert.Equal("PONG", await Server(which).CommandAsync("PING"));
    }

    [Theory]
    [InlineData("state")]
    [InlineData("cache")]
    public async Task TheDefaultUserCannotLogInWithOrWithoutThePassword(string which)
    {
        var server = Server(which);
        Assert.Matches("WRONGPASS|NOAUTH", await server.CommandAsAsync("default", server.Password, "PING"));
        Assert.Matches("WRONGPASS|NOAUTH", await server.CommandAsAsync("default", "", "PING"));
        Assert.Matches("WRONGPASS|NOAUTH", await server.CommandAsAsync("default", "", "GET", $"{TestStack.RedisKeyPrefix}x"));
        Assert.Matches("WRONGPASS", await server.CommandAsAsync(RedisServer.AppUser, server.Password + "x", "PING"));
    }

    /// <summary>
    /// The append-only file holds each script's writes as MULTI/EXEC, which Redis 7.0 replays as the
    /// default user: with that user stripped of its rights, a restart silently lost every session.
    /// </summary>
    [Fact]
    public async Task SessionsAndRefreshTokensSurviveARestartOfTheStateRedis()
    {
        var stack = privateStack.Stack;
        await using var factory = await QuartetFactory.CreateAsync(stack);
        using var client = factory.CreateHttpsClient();
        var email = await client.RegisterAndLoginAsync();
        var (_, refresh) = await client.TokenAsync(email);

        await stack.Redis.StopAsync(TestContext.Current.CancellationToken); // SIGTERM: Redis fsyncs its AOF and exits
        await stack.Redis.StartAsync(TestContext.Current.CancellationToken);
        Assert.DoesNotContain("CRITICAL", await File.ReadAllTextAsync(stack.Redis.LogFile, TestContext.Current.CancellationToken), StringComparison.Ordinal);

        for (var attempt = 0; ; attempt++)
        {
            using var me = await client.GetAsync("/api/auth/me");
            if (me.StatusCode == System.Net.HttpStatusCode.OK)
            {
                break;
            }
            // 503 while the client reconnects; 401 would mean the session is gone.
            Assert.True(me.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && attempt < 50, $"after the restart: {(int)me.StatusCode}");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        using var refreshed = await client.PostAsync("/api/auth/refresh",
            System.Net.Http.Json.JsonContent.Create(new { refreshToken = refresh }));
        Assert.Equal(System.Net.HttpStatusCode.OK, refreshed.StatusCode);
    }

    [Fact]
    public void EveryCommandTheBackendsScriptsCallIsGrantedAndNoCategoryIs()
    {
        var rules = RedisAcl.Load(TestPaths.Repository).Split(' ');
        Assert.Equal("-@all", rules[0]);
        Assert.DoesNotContain(rules, r => r.StartsWith("+@", StringComparison.Ordinal) || r == "allcommands" || r.StartsWith('~') || r.StartsWith('&'));
        var granted = rules.Where(r => r.StartsWith('+')).Select(r => r[1..].ToUpperInvariant()).ToHashSet();

        var source = Directory.EnumerateFiles(Path.Combine(TestPaths.Repository, "src", "Quartet.Api"), "*.cs", SearchOption.AllDirectories)
            .Select(File.ReadAllText);
        var called = source.SelectMany(text => ScriptCall().Matches(text).Select(m => m.Groups[1].Value.ToUpperInvariant())).ToHashSet();
        Assert.NotEmpty(called);
        Assert.Empty(called.Except(granted));
    }

    [GeneratedRegex("""redis\.p?call\(\s*['"]([A-Za-z]+)['"]""")]
    private static partial Regex ScriptCall();
}
