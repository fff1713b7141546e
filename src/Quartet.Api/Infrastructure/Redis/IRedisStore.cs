namespace Quartet.Api.Infrastructure.Redis;

/// <summary>
/// Every Redis call Quartet makes goes through this interface, so the client library behind it
/// (StackExchange.Redis 3.x today) stays inside this folder. Keys are given without the prefix; the
/// store adds it (inside scripts too). A Redis that cannot be reached surfaces as
/// <see cref="DependencyUnavailableException"/>, never as the client library's own types. Methods grow here as features need them, never as a way around it.
/// </summary>
internal interface IRedisStore
{
    Task<TimeSpan> PingAsync();
    Task<string?> GetAsync(string key);
    Task SetAsync(string key, string value, TimeSpan? expiry = null);
    Task<bool> DeleteAsync(string key);
    Task<long> DeleteAsync(IReadOnlyList<string> keys);
    Task<IReadOnlyDictionary<string, string>> HashGetAllAsync(string key);
    Task<IReadOnlyList<string>> SetMembersAsync(string key);
    Task<bool> SetRemoveAsync(string key, string member);
    Task<long> IncrementAsync(string key);

    /// <summary>
    /// Runs a Lua script atomically, in one round trip. The reply comes back as strings: an array reply
    /// element by element (nested arrays are not supported), any other reply as one element, nil as null.
    /// </summary>
    Task<IReadOnlyList<string?>> EvaluateAsync(string script, IReadOnlyList<string> keys, IReadOnlyList<string> args);
}
