using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace Quartet.Api.Infrastructure.Redis;

internal sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>host:port of the Redis server.</summary>
    [Required] public string Endpoint { get; set; } = "127.0.0.1:6379";
    /// <summary>Prepended to every key, so several apps or test runs can share one Redis.</summary>
    [Required] public string KeyPrefix { get; set; } = "quartet:";
    [Range(100, 60000)] public int ConnectTimeoutMs { get; set; } = 2000;
    [Range(100, 60000)] public int OperationTimeoutMs { get; set; } = 2000;
    /// <summary>RESP3 or RESP2 on the wire (decision 0010); a server older than Redis 6 gets RESP2 whatever this says.</summary>
    [EnumDataType(typeof(RedisProtocol))] public RedisProtocol Protocol { get; set; } = RedisProtocol.Resp3;
}
