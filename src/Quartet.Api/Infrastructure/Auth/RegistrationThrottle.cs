using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.Observability;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>
/// Registrations per client (an IPv4 address or IPv6 /64), counted in Redis: each one costs a password
/// hash and a row. While Redis is unavailable registration goes on uncounted (as it did before this
/// limit): the hashing limiter still bounds the CPU, and nginx's per-address rate still applies.
/// </summary>
internal sealed partial class RegistrationThrottle(LoginThrottle throttle, ILogger<RegistrationThrottle> logger)
{
    /// <summary>Null when the registration may go on; otherwise the 429 answer (with Retry-After set).</summary>
    public async Task<ProblemHttpResult?> ReserveAsync(HttpContext context)
    {
        TimeSpan? wait;
        try
        {
            wait = await throttle.ReserveRegistrationAsync(context.ClientKey());
        }
        catch (DependencyUnavailableException)
        {
            LogUncounted(logger);
            return null;
        }
        if (wait is not { } retry)
        {
            return null;
        }
        var seconds = (int)Math.Ceiling(retry.TotalSeconds);
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        QuartetMetrics.ThrottledRequest("register");
        return Problems.Of(StatusCodes.Status429TooManyRequests, ProblemTypes.Throttled, "Too many registrations",
            $"Too many registrations from your address. Try again in {seconds} seconds.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis unavailable: registration accepted without its per-address count")]
    private static partial void LogUncounted(ILogger logger);
}
