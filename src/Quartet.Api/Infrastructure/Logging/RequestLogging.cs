using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging.Console;

namespace Quartet.Api.Infrastructure.Logging;

internal static partial class RequestLogging
{
    public const string RequestIdHeader = "X-Request-ID";

    /// <summary>Standard output written a whole line per system call (<see cref="WholeLineStdout"/>).</summary>
    public const string WholeLineOutputSetting = "Logging:WholeLineOutput";

    /// <summary>JSON lines on stdout, each with the request's id and trace id among its scopes.</summary>
    public static IHostApplicationBuilder AddJsonLogging(this IHostApplicationBuilder builder)
    {
        // Before the console logger takes Console.Out: the runtime's own standard output flushes every
        // 256 bytes, so a request's line (about 600) took three write calls; this one takes one. Off only
        // where standard output is not the service's own (the in-process test host shares the runner's).
        if (WholeLineOutput(builder.Configuration))
        {
            WholeLineStdout.Install();
        }
        builder.Logging.ClearProviders();
        // The request's own scope carries the trace id (below); the host's default would add a second
        // scope with trace, span and parent ids, built again for every line.
        builder.Logging.Configure(options => options.ActivityTrackingOptions = ActivityTrackingOptions.None);
        builder.Logging.AddJsonConsole(options =>
        {
            options.IncludeScopes = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        // A full queue drops log lines rather than making requests wait for the console.
        builder.Services.Configure<ConsoleLoggerOptions>(options => options.QueueFullMode = ConsoleLoggerQueueFullMode.DropWrite);
        return builder;
    }

    private static bool WholeLineOutput(IConfiguration configuration)
    {
        var value = configuration[WholeLineOutputSetting];
        if (value is null)
        {
            return true;
        }
        return bool.TryParse(value, out var on)
            ? on
            : throw new OptionsValidationException("Logging", typeof(bool), [$"{WholeLineOutputSetting} must be true or false, not '{value}'."]);
    }

    /// <summary>
    /// Takes X-Request-ID from a trusted proxy (nginx sets it) or makes one, echoes it, makes it the
    /// TraceIdentifier (so problem bodies carry it) and writes one line per request when it ends. Every
    /// line of the request carries that id and the request's trace id (the W3C trace id, from the
    /// caller's traceparent or new), so a log line leads to its trace.
    /// </summary>
    public static WebApplication UseRequestLogging(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Quartet.Request");
        var proxies = app.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value.KnownIPNetworks;
        app.Use(async (context, next) =>
        {
            // Only the proxy's id is believed: a client talking to the service directly cannot choose the id
            // its requests are logged and audited under.
            var peer = context.Connection.RemoteIpAddress;
            var trusted = peer is null || IPAddress.IsLoopback(peer) || proxies.Any(n => n.Contains(peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer));
            var requestId = RequestIdFrom(trusted ? context.Request.Headers[RequestIdHeader] : default);
            context.TraceIdentifier = requestId;
            context.Response.Headers[RequestIdHeader] = requestId;
            using var scope = logger.BeginScope(new RequestScope(requestId, Activity.Current?.TraceId.ToHexString()));
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                LogRequest(logger, context.Request.Method, context.Request.Path, context.Response.StatusCode,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });
        return app;
    }

    /// <summary>A client's id is kept when it is short and plain; anything else is replaced, never echoed.</summary>
    internal static string RequestIdFrom(string? header)
    {
        if (header is { Length: > 0 and <= 128 } && header.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
        {
            return header;
        }
        return Guid.CreateVersion7().ToString("N");
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Path} {StatusCode} {DurationMs:F1}ms")]
    private static partial void LogRequest(ILogger logger, string method, string path, int statusCode, double durationMs);

    /// <summary>The scope state, so the JSON shows <c>"RequestId": "...", "TraceId": "..."</c>.</summary>
    private sealed class RequestScope(string requestId, string? traceId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("RequestId", requestId),
            1 when traceId is not null => new("TraceId", traceId),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public int Count => traceId is null ? 1 : 2;

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => traceId is null ? "RequestId:" + requestId : $"RequestId:{requestId} TraceId:{traceId}";
    }
}
