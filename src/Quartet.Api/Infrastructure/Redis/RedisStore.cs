using System.Diagnostics;
using Quartet.Api.Infrastructure.Observability;
using StackExchange.Redis;
using StackExchange.Redis.KeyspaceIsolation;

namespace Quartet.Api.Infrastructure.Redis;

/// <summary>
/// The one place that calls StackExchange.Redis. One multiplexer for the process, connected on first use
/// without blocking a thread. With AbortOnConnectFail off it keeps reconnecting by itself after Redis
/// restarts; with the fail-fast backlog policy a call made while Redis is away fails at once instead of
/// queueing until its timeout.
/// </summary>
internal sealed class RedisStore : IRedisStore, IDisposable
{
    public const string StateName = "Redis";
    public const string CacheName = "Redis cache";

    /// <summary>
    /// Commands the client would send on its own at connect or in the background: server discovery
    /// (INFO, CONFIG GET, CLUSTER NODES, the ECHO check) and the configuration channel. Quartet talks to
    /// one known server, so none is needed, and its ACL user may not run them (deploy/redis/quartet.acl).
    /// </summary>
    private static readonly CommandMap Commands = CommandMap.Create(
        ["INFO", "CONFIG", "CLUSTER", "ECHO", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "SENTINEL", "ROLE"], available: false);

    private readonly Lazy<Task<IDatabase>> _database;
    private readonly string _name;

    public RedisStore(RedisOptions redis, string endpoint, string name, string password)
    {
        _name = name;
        var configuration = new ConfigurationOptions
        {
            EndPoints = { endpoint },
            AbortOnConnectFail = false,
            BacklogPolicy = BacklogPolicy.FailFast,
            User = redis.User,
            Password = password,
            Protocol = redis.Protocol,
            ConnectTimeout = redis.ConnectTimeoutMs,
            AsyncTimeout = redis.OperationTimeoutMs,
            ConnectRetry = 3,
            KeepAlive = 5,
            ClientName = name == StateName ? "quartet" : "quartet-cache",
            // The channel only tells other clients that a primary changed; Quartet runs one Redis, and without
            // it the client opens no second (subscription) connection: one socket per replica, not two.
            ConfigurationChannel = "",
            // No GET of a key outside the prefix to choose between primaries, no CLIENT SETINFO (Redis 7.2+),
            // and none of the discovery commands above.
            TieBreaker = "",
            SetClientLibrary = false,
            CommandMap = Commands,
        };
        _database = new(async () => (await ConnectionMultiplexer.ConnectAsync(configuration)).GetDatabase().WithKeyPrefix(redis.KeyPrefix));
    }

    public Task<TimeSpan> PingAsync() => Guard(db => db.PingAsync());

    public Task<string?> GetAsync(string key) => Guard(async db => (string?)await db.StringGetAsync(key));

    public Task SetAsync(string key, string value, TimeSpan? expiry = null) =>
        Guard(db => db.StringSetAsync(key, value, expiry is { } ttl ? new Expiration(ttl) : Expiration.Default));

    public Task<bool> DeleteAsync(string key) => Guard(db => db.KeyDeleteAsync(key));

    public Task<long> DeleteAsync(IReadOnlyList<string> keys) => Guard(db => db.KeyDeleteAsync([.. keys.Select(k => (RedisKey)k)]));

    public Task<IReadOnlyDictionary<string, string>> HashGetAllAsync(string key) => Guard(async db =>
        (IReadOnlyDictionary<string, string>)(await db.HashGetAllAsync(key)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!));

    public Task<IReadOnlyList<string>> SetMembersAsync(string key) => Guard(async db =>
        (IReadOnlyList<string>)[.. (await db.SetMembersAsync(key)).Select(v => (string)v!)]);

    public Task<bool> SetRemoveAsync(string key, string member) => Guard(db => db.SetRemoveAsync(key, member));

    public Task<long> IncrementAsync(string key) => Guard(db => db.StringIncrementAsync(key));

    public Task<IReadOnlyList<string?>> EvaluateAsync(string script, IReadOnlyList<string> keys, IReadOnlyList<string> args) => Guard(async db =>
    {
        var result = await db.ScriptEvaluateAsync(script, [.. keys.Select(k => (RedisKey)k)], [.. args.Select(a => (RedisValue)a)]);
        // Resp2Type: the shape the reply has on either protocol, so the scripts read the same on both.
        return result.Resp2Type == ResultType.Array
            ? (IReadOnlyList<string?>)[.. ((RedisResult[])result!).Select(r => (string?)r)]
            : [(string?)result];
    });

    /// <summary>The client's connection and timeout exceptions leave this class as ours, so callers never see its types.</summary>
    private async Task<T> Guard<T>(Func<IDatabase, Task<T>> operation)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await operation(await _database.Value);
            QuartetMetrics.RedisCall(started, failed: false);
            return result;
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or TimeoutException or ObjectDisposedException
            || (e is RedisServerException && (IsTransient(e.Message) || IsOutOfMemory(e.Message))))
        {
            QuartetMetrics.RedisCall(started, failed: true);
            throw new DependencyUnavailableException(_name, e);
        }
    }

    /// <summary>Replies Redis gives while it cannot serve yet (loading its data after a restart, a busy script).</summary>
    private static bool IsTransient(string message) =>
        message.StartsWith("LOADING", StringComparison.Ordinal) || message.StartsWith("BUSY", StringComparison.Ordinal)
        || message.StartsWith("TRYAGAIN", StringComparison.Ordinal) || message.StartsWith("MASTERDOWN", StringComparison.Ordinal);

    /// <summary>
    /// The reply of a server at its maxmemory to a command that would add data (directly or inside a
    /// script). The state Redis evicts nothing (decision 0015), so the write fails and the request gets 503;
    /// reads, deletes and expiry updates still work.
    /// </summary>
    private static bool IsOutOfMemory(string message) =>
        message.StartsWith("OOM", StringComparison.Ordinal) || message.Contains("-OOM ", StringComparison.Ordinal)
        || message.Contains("OOM command not allowed", StringComparison.Ordinal);

    public void Dispose()
    {
        if (_database.IsValueCreated && _database.Value.IsCompletedSuccessfully)
        {
            _database.Value.Result.Multiplexer.Dispose();
        }
    }
}
