using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Features.AccountMail;

/// <summary>
/// Fixed-window counters in Redis for the requests that send mail, shared by every replica: password
/// reset requests per address, verification resends per account. An address is keyed by a SHA-256
/// prefix, never by itself.
/// </summary>
internal sealed class AccountMailThrottle(IRedisStore redis)
{
    public const int ResetRequestsPerAddress = 3;
    public const int ResendsPerAccount = 3;
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);

    // Counts this request; returns the count and the window's milliseconds left.
    private const string HitScript = """
        local n = redis.call('INCR', KEYS[1])
        if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return {tostring(n), tostring(redis.call('PTTL', KEYS[1]))}
        """;

    /// <summary>Counts a reset request for the address; how long to wait when it is over the limit, else null.</summary>
    public Task<TimeSpan?> ResetRequestAsync(string email) =>
        HitAsync($"throttle:reset:address:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(email)))[..32]}", ResetRequestsPerAddress);

    public Task<TimeSpan?> ResendAsync(Guid userId) => HitAsync($"throttle:verify-resend:account:{userId}", ResendsPerAccount);

    private async Task<TimeSpan?> HitAsync(string key, int limit)
    {
        var reply = await redis.EvaluateAsync(HitScript, [key], [((long)Window.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)]);
        var count = long.Parse(reply[0]!, CultureInfo.InvariantCulture);
        var left = long.Parse(reply[1]!, CultureInfo.InvariantCulture);
        return count > limit ? TimeSpan.FromMilliseconds(Math.Max(left, 1000)) : null;
    }
}
