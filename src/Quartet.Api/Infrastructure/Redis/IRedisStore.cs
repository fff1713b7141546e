namespace Quartet.Api.Infrastructure.Redis;

/// <summary>
/// Every Redis call Quartet makes goes through this interface, so the client library behind it
/// (StackExchange.Redis 1.2.6 today) is a one-file change. Keys are given without the prefix; the
/// store adds it. Methods grow here as features need them, never as a way around it.
/// </summary>
internal interface IRedisStore
{
    Task<TimeSpan> PingAsync();
    Task<string?> GetAsync(string key);
    Task SetAsync(string key, string value, TimeSpan? expiry = null);
    Task<bool> DeleteAsync(string key);
}
