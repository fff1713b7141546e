using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>
/// Password attempts counted in Redis, so every replica shares one count: per account and client (slows
/// guessing one password), per client (slows spraying many accounts) and per account from any client
/// (slows a guesser spread over many addresses, for a short window only, so that it cannot lock the owner
/// out for long). A client is an IPv4 address or an IPv6 /64 (<see cref="ClientAddress"/>). Each counter
/// is a fixed window that opens with its first attempt.
/// <para>
/// An attempt is reserved, in one script, before the password is checked: either some counter is at its
/// limit and the caller is told how long to wait, or every counter is incremented. So of any number of
/// concurrent attempts exactly as many as the limit allows reach the password check. A correct password
/// gives the reservation back (<see cref="SucceededAsync"/>).
/// </para>
/// </summary>
internal sealed class LoginThrottle(IRedisStore redis, IOptions<ThrottleOptions> options)
{
    // KEYS: the counters; ARGV: their limits, then their windows in milliseconds. Returns the
    // milliseconds left in the longest window that is at its limit, or 0 after counting the attempt.
    private const string ReserveScript = """
        local n = #KEYS
        local wait = 0
        for i = 1, n do
          if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i]) then
            local ttl = redis.call('PTTL', KEYS[i])
            if ttl < 0 then
              ttl = tonumber(ARGV[n + i])
              redis.call('PEXPIRE', KEYS[i], ttl)
            end
            if ttl > wait then wait = ttl end
          end
        end
        if wait > 0 then return {tostring(wait)} end
        for i = 1, n do
          if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[n + i]) end
        end
        return {'0'}
        """;

    // Gives one reserved attempt back on each counter (never below zero, never touching a window's expiry).
    private const string ReleaseScript = """
        for i = 1, #KEYS do
          local count = tonumber(redis.call('GET', KEYS[i]) or '0')
          if count > 1 then redis.call('DECR', KEYS[i]) elseif count == 1 then redis.call('DEL', KEYS[i]) end
        end
        return {'1'}
        """;

    /// <summary>
    /// Counts an attempt on the account from the client before its password is checked. Null when the
    /// attempt may go on; otherwise how long the caller must wait, and nothing was counted.
    /// </summary>
    public async Task<TimeSpan?> ReserveAsync(string email, string client)
    {
        var limits = options.Value;
        var reply = await redis.EvaluateAsync(ReserveScript, Keys(email, client),
        [
            Text(limits.FailuresPerAccountAndIp), Text(limits.FailuresPerIp), Text(limits.FailuresPerAccount),
            Text(limits.Window), Text(limits.Window), Text(limits.AccountWindow),
        ]);
        var wait = long.Parse(reply[0]!, CultureInfo.InvariantCulture);
        return wait > 0 ? TimeSpan.FromMilliseconds(wait) : null;
    }

    /// <summary>
    /// The password was right: the account's count from this client is cleared, and the attempt is given
    /// back to the client's and the account's counts (failures from elsewhere stay counted).
    /// </summary>
    public async Task SucceededAsync(string email, string client)
    {
        var keys = Keys(email, client);
        await redis.DeleteAsync(keys[0]);
        await redis.EvaluateAsync(ReleaseScript, keys[1..], []);
    }

    /// <summary>The password was never checked (the server was too busy to): the reservation is given back.</summary>
    public Task ReleaseAsync(string email, string client) => redis.EvaluateAsync(ReleaseScript, Keys(email, client), []);

    /// <summary>
    /// Counts a registration from the client. Null when it may go on; otherwise how long to wait.
    /// </summary>
    public async Task<TimeSpan?> ReserveRegistrationAsync(string client)
    {
        var limits = options.Value;
        var reply = await redis.EvaluateAsync(ReserveScript, [$"throttle:register:client:{client}"],
            [Text(limits.RegistrationsPerIp), Text(limits.RegistrationWindow)]);
        var wait = long.Parse(reply[0]!, CultureInfo.InvariantCulture);
        return wait > 0 ? TimeSpan.FromMilliseconds(wait) : null;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    private static string[] Keys(string email, string client)
    {
        var account = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(email)))[..32];
        return
        [
            $"throttle:login:account:{account}:{client}",
            $"throttle:login:ip:{client}",
            $"throttle:login:account:{account}",
        ];
    }
}
