using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Auth;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.Observability;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Infrastructure.RateLimiting;

internal sealed class WriteLimitOptions
{
    public const string Section = "WriteLimits";

    /// <summary>Writes (POST, PUT, PATCH, DELETE under /api) one user may make in a window.</summary>
    [Range(1, 1_000_000)] public int RequestsPerWindow { get; set; } = 60;

    /// <summary>The fixed window, opened by the user's first write in it.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// A per-user limit on every write under /api made by an authenticated user, by session or bearer
/// token, counted in the state Redis so every replica shares it. One script increments the user's
/// counter and reads its expiry, so N concurrent writes at the limit let exactly the allowed number
/// through. Reads are not counted and cost nothing here. Placed after the CSRF check, so a forged
/// cross-site request cannot spend the victim's budget.
/// </summary>
internal static partial class WriteRateLimits
{
    // KEYS[1] the user's counter; ARGV[1] window ms. Returns the count with this request and the ms left.
    // The expiry is set with the first write of a window; a counter found without one (it cannot be,
    // unless set by hand) gets one, so no user is limited for ever.
    private const string CountScript = """
        local n = redis.call('INCR', KEYS[1])
        if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          ttl = tonumber(ARGV[1])
        end
        return {tostring(n), tostring(ttl)}
        """;

    public static IHostApplicationBuilder AddWriteRateLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WriteLimitOptions>().BindConfiguration(WriteLimitOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Window >= TimeSpan.FromSeconds(1) && o.Window <= TimeSpan.FromDays(1), "WriteLimits: Window must be 1 second to 1 day")
            .ValidateOnStart();
        return builder;
    }

    public static WebApplication UseWriteRateLimits(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<WriteLimitOptions>>().Value;
        var redis = app.Services.GetRequiredService<IRedisStore>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WriteRateLimits).FullName!);
        var window = ((long)options.Window.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        app.Use(async (context, next) =>
        {
            if (!IsCounted(context.Request) || context.User.Identity?.IsAuthenticated != true)
            {
                await next(context);
                return;
            }
            IReadOnlyList<string?> reply;
            try
            {
                reply = await redis.EvaluateAsync(CountScript, [$"ratelimit:writes:{context.User.Id():N}"], [window]);
            }
            catch (DependencyUnavailableException)
            {
                // Fails open: with Redis away, bearer-token writes keep working (decision 0004), and a
                // session's own lookup has already answered 503.
                LogNotCounted(logger);
                await next(context);
                return;
            }
            var count = long.Parse(reply[0]!, CultureInfo.InvariantCulture);
            if (count <= options.RequestsPerWindow)
            {
                await next(context);
                return;
            }
            var seconds = Math.Max(1, (long)Math.Ceiling(long.Parse(reply[1]!, CultureInfo.InvariantCulture) / 1000.0));
            QuartetMetrics.ThrottledRequest("writes");
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await context.WriteProblemAsync(StatusCodes.Status429TooManyRequests, ProblemTypes.Throttled, "Too many writes",
                $"At most {options.RequestsPerWindow} changes per {(long)options.Window.TotalSeconds} seconds per account. Try again in {seconds} seconds.");
        });
        return app;
    }

    /// <summary>
    /// Unsafe methods under /api. Logout is left out: a user at the limit can still end their session.
    /// </summary>
    private static bool IsCounted(HttpRequest request)
    {
        var method = request.Method;
        return (HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method))
            && request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
            && !request.Path.Equals(LogoutPath, StringComparison.OrdinalIgnoreCase);
    }

    private const string LogoutPath = "/api/auth/logout";

    /// <summary>The same rule for a route template without its leading slash (the OpenAPI document's).</summary>
    internal static bool IsCountedPath(string? relativePath) =>
        relativePath is not null
        && relativePath.StartsWith("api/", StringComparison.OrdinalIgnoreCase)
        && !string.Equals("/" + relativePath, LogoutPath, StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis unavailable: a write was not counted against its user's limit")]
    private static partial void LogNotCounted(ILogger logger);
}
