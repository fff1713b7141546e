using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>
/// Failed logins counted in Redis, so every replica shares one count: per account and client IP (slows
/// guessing one password) and per IP (slows spraying many accounts). Each counter is a fixed window that
/// opens with its first failure.
/// </summary>
internal sealed class LoginThrottle(IRedisStore redis, IOptions<ThrottleOptions> options)
{
    // Returns the milliseconds left in the first window that is over its limit, or 0.
    private const string CheckScript = """
        local wait = 0
        for i = 1, 2 do
          local n = tonumber(redis.call('GET', KEYS[i]) or '0')
          if n >= tonumber(ARGV[i]) then
            local ttl = redis.call('PTTL', KEYS[i])
            if ttl > wait then wait = ttl end
          end
        end
        return {tostring(wait)}
        """;

    private const string FailScript = """
        for i = 1, 2 do
          if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
        end
        return {'1'}
        """;

    /// <summary>How long the caller must wait before trying again, or null when it may try now.</summary>
    public async Task<TimeSpan?> RetryAfterAsync(string email, string ip)
    {
        var limits = options.Value;
        var reply = await redis.EvaluateAsync(CheckScript, Keys(email, ip),
            [limits.FailuresPerAccountAndIp.ToString(CultureInfo.InvariantCulture), limits.FailuresPerIp.ToString(CultureInfo.InvariantCulture)]);
        var wait = long.Parse(reply[0]!, CultureInfo.InvariantCulture);
        return wait > 0 ? TimeSpan.FromMilliseconds(wait) : null;
    }

    public Task RecordFailureAsync(string email, string ip) =>
        redis.EvaluateAsync(FailScript, Keys(email, ip),
            [((long)options.Value.Window.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)]);

    /// <summary>A successful login clears the account's count from that IP (not the IP's own).</summary>
    public Task ResetAsync(string email, string ip) => redis.DeleteAsync(Keys(email, ip)[0]);

    private static string[] Keys(string email, string ip) =>
    [
        $"throttle:login:account:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(email)))[..32]}:{ip}",
        $"throttle:login:ip:{ip}",
    ];
}
