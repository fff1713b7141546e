using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StackExchange.Redis.KeyspaceIsolation;

namespace Quartet.Api.Infrastructure.Redis;

/// <summary>
/// The one place that knows StackExchange.Redis. One multiplexer for the process, created on first use;
/// with AbortOnConnectFail off it keeps reconnecting by itself after Redis restarts, and calls made
/// while Redis is away fail fast instead of hanging.
/// </summary>
internal sealed class RedisStore : IRedisStore, IDisposable
{
    private readonly Lazy<ConnectionMultiplexer> _connection;
    private readonly string _prefix;

    public RedisStore(IOptions<RedisOptions> options, string password)
    {
        var redis = options.Value;
        _prefix = redis.KeyPrefix;
        var configuration = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            Password = password,
            ConnectTimeout = redis.ConnectTimeoutMs,
            SyncTimeout = redis.OperationTimeoutMs,
            ResponseTimeout = redis.OperationTimeoutMs,
            ConnectRetry = 3,
            KeepAlive = 5,
            ClientName = "quartet",
        };
        configuration.EndPoints.Add(redis.Endpoint);
        _connection = new(() => ConnectionMultiplexer.Connect(configuration), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    private IDatabase Database => _connection.Value.GetDatabase().WithKeyPrefix(_prefix);

    public Task<TimeSpan> PingAsync() => Database.PingAsync();

    public async Task<string?> GetAsync(string key) => await Database.StringGetAsync(key);

    public Task SetAsync(string key, string value, TimeSpan? expiry = null) => Database.StringSetAsync(key, value, expiry);

    public Task<bool> DeleteAsync(string key) => Database.KeyDeleteAsync(key);

    public Task<long> DeleteAsync(IReadOnlyList<string> keys) =>
        keys.Count == 0 ? Task.FromResult(0L) : Database.KeyDeleteAsync([.. keys.Select(k => (RedisKey)k)]);

    public async Task<IReadOnlyDictionary<string, string>> HashGetAllAsync(string key) =>
        (await Database.HashGetAllAsync(key)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);

    public async Task<IReadOnlyList<string>> SetMembersAsync(string key) =>
        [.. (await Database.SetMembersAsync(key)).Select(v => (string)v!)];

    public Task<bool> SetRemoveAsync(string key, string member) => Database.SetRemoveAsync(key, member);

    public Task<long> IncrementAsync(string key) => Database.StringIncrementAsync(key);

    public async Task<IReadOnlyList<string?>> EvaluateAsync(string script, IReadOnlyList<string> keys, IReadOnlyList<string> args)
    {
        var result = await Database.ScriptEvaluateAsync(script,
            [.. keys.Select(k => (RedisKey)k)], [.. args.Select(a => (RedisValue)a)]);
        if (result.IsNull)
        {
            return [null];
        }
        // 1.2.6 does not expose the reply's type; an array reply casts, any other throws on the cast.
        try
        {
            return [.. ((RedisResult[])result!).Select(r => r.IsNull ? null : (string?)r)];
        }
        catch (InvalidCastException)
        {
            return [(string?)result];
        }
    }

    public void Dispose()
    {
        if (_connection.IsValueCreated)
        {
            _connection.Value.Dispose();
        }
    }
}
