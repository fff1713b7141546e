using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace Quartet.Api.Infrastructure.Redis;

internal sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>host:port of the state Redis: sessions, tokens, counters (noeviction, decision 0015).</summary>
    [Required] public string Endpoint { get; set; } = "127.0.0.1:6379";
    /// <summary>
    /// host:port of the cache Redis (allkeys-lru), which holds the notes read cache and nothing else.
    /// Unset: no read cache at all, so cached data never competes with sessions for the state Redis's memory.
    /// </summary>
    public string? CacheEndpoint { get; set; }
    /// <summary>The ACL user of both servers; its password is the redis_password secret.</summary>
    [Required, RegularExpression("^[A-Za-z0-9_.-]{1,64}$")] public string User { get; set; } = "quartet";
    /// <summary>Prepended to every key, so several apps or test runs can share one Redis; the ACL user is limited to it.</summary>
    [Required] public string KeyPrefix { get; set; } = "quartet:";
    [Range(100, 60000)] public int ConnectTimeoutMs { get; set; } = 2000;
    [Range(100, 60000)] public int OperationTimeoutMs { get; set; } = 2000;
    /// <summary>RESP3 or RESP2 on the wire (decision 0010); a server older than Redis 6 gets RESP2 whatever this says.</summary>
    [EnumDataType(typeof(RedisProtocol))] public RedisProtocol Protocol { get; set; } = RedisProtocol.Resp3;
}
