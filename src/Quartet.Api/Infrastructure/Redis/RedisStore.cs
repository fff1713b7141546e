using System.Diagnostics;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Observability;
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

    public Task<TimeSpan> PingAsync() => Guard(() => Database.PingAsync());

    public Task<string?> GetAsync(string key) => Guard(async () => (string?)await Database.StringGetAsync(key));

    public Task SetAsync(string key, string value, TimeSpan? expiry = null) => Guard(() => Database.StringSetAsync(key, value, expiry));

    public Task<bool> DeleteAsync(string key) => Guard(() => Database.KeyDeleteAsync(key));

    public Task<long> DeleteAsync(IReadOnlyList<string> keys) =>
        keys.Count == 0 ? Task.FromResult(0L) : Guard(() => Database.KeyDeleteAsync([.. keys.Select(k => (RedisKey)k)]));

    public Task<IReadOnlyDictionary<string, string>> HashGetAllAsync(string key) => Guard(async () =>
        (IReadOnlyDictionary<string, string>)(await Database.HashGetAllAsync(key)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!));

    public Task<IReadOnlyList<string>> SetMembersAsync(string key) => Guard(async () =>
        (IReadOnlyList<string>)[.. (await Database.SetMembersAsync(key)).Select(v => (string)v!)]);

    public Task<bool> SetRemoveAsync(string key, string member) => Guard(() => Database.SetRemoveAsync(key, member));

    public Task<long> IncrementAsync(string key) => Guard(() => Database.StringIncrementAsync(key));

    public Task<IReadOnlyList<string?>> EvaluateAsync(string script, IReadOnlyList<string> keys, IReadOnlyList<string> args) =>
        Guard(() => EvaluateCoreAsync(script, keys, args));

    /// <summary>The client's connection and timeout exceptions leave this class as ours, so callers never see its types.</summary>
    private static async Task<T> Guard<T>(Func<Task<T>> operation)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await operation();
            QuartetMetrics.RedisCall(started, failed: false);
            return result;
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or TimeoutException or ObjectDisposedException
            || (e is RedisServerException && IsTransient(e.Message)))
        {
            QuartetMetrics.RedisCall(started, failed: true);
            throw new DependencyUnavailableException("Redis", e);
        }
    }

    /// <summary>Replies Redis gives while it cannot serve yet (loading its data after a restart, a busy script).</summary>
    private static bool IsTransient(string message) =>
        message.StartsWith("LOADING", StringComparison.Ordinal) || message.StartsWith("BUSY", StringComparison.Ordinal)
        || message.StartsWith("TRYAGAIN", StringComparison.Ordinal) || message.StartsWith("MASTERDOWN", StringComparison.Ordinal);

    private async Task<IReadOnlyList<string?>> EvaluateCoreAsync(string script, IReadOnlyList<string> keys, IReadOnlyList<string> args)
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
