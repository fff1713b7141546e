using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Quartet.Api.Infrastructure.Observability;

/// <summary>
/// OpenTelemetry (docs/decisions/0012-opentelemetry-metrics-and-traces.md): metrics for Prometheus on a
/// port of their own when <c>Metrics:Port</c> is set, traces over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and a trace id on every request either way, for the logs.
/// </summary>
internal static class ObservabilityExtensions
{
    public const string MetricsPath = "/metrics";
    private const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        var metrics = MetricsOptions.Read(builder.Configuration);
        builder.Services.AddSingleton(metrics);
        var tracing = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]);
        if (!tracing)
        {
            RequestTraceIds.Listen();
        }
        if (!metrics.Serves && !tracing)
        {
            return builder;
        }

        var telemetry = builder.Services.AddOpenTelemetry().ConfigureResource(resource =>
            resource.AddService(builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "quartet"));
        if (metrics.Serves)
        {
            telemetry.WithMetrics(meters => meters
                // ASP.NET Core's request duration (by route and status), Kestrel's connections and
                // unhandled exceptions. Not its routing, authentication and memory-pool meters: they
                // record on every request, or every buffer, and tell an operator little more.
                .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics")
                // .NET's own runtime metrics (GC, thread pool, memory, JIT); on .NET 9 and later
                // OpenTelemetry.Instrumentation.Runtime does no more than this line.
                .AddMeter("System.Runtime")
                .AddNpgsqlInstrumentation()
                .AddMeter(QuartetMetrics.MeterName)
                .AddPrometheusExporter());
            builder.Services.AddSingleton<IHealthCheckPublisher, ReadinessMetrics>();
            builder.Services.AddHostedService<BackupMetrics>();
            builder.Services.Configure<HealthCheckPublisherOptions>(options =>
            {
                options.Delay = TimeSpan.FromSeconds(2);
                options.Period = ReadinessMetrics.Period;
            });
            builder.WebHost.UseUrls([.. ServerUrls(builder.Configuration), $"http://{new IPEndPoint(IPAddress.Parse(metrics.Address), metrics.Port)}"]);
        }
        if (tracing)
        {
            telemetry.WithTracing(traces => traces
                // Probes every few seconds would drown the traces that matter; they still get a trace id.
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !context.Request.Path.StartsWithSegments("/health"))
                .AddNpgsql()
                // Endpoint, protocol and headers come from the standard OTEL_EXPORTER_OTLP_* variables.
                .AddOtlpExporter());
        }
        return builder;
    }

    /// <summary>
    /// A request on the metrics port gets /metrics and nothing else (404), and is neither logged nor
    /// counted in the request metrics. The service's own port never reaches the exporter: /metrics there
    /// is the ordinary 404, and nginx forwards only /api/ and /health/ anyway.
    /// </summary>
    public static WebApplication UseMetricsEndpoint(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<MetricsOptions>();
        if (!metrics.Serves)
        {
            return app;
        }
        app.MapWhen(context => context.Connection.LocalPort == metrics.Port, scrape =>
        {
            scrape.Use((context, next) =>
            {
                if (context.Features.Get<IHttpMetricsTagsFeature>() is { } tags)
                {
                    tags.MetricsDisabled = true;
                }
                return next(context);
            });
            scrape.UseOpenTelemetryPrometheusScrapingEndpoint(MetricsPath);
            scrape.Run(context =>
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        });
        return app;
    }

    /// <summary>
    /// Where the service listens without the metrics port, found as ASP.NET Core finds it (<c>urls</c>,
    /// else <c>http_ports</c> and <c>https_ports</c>, else its default): naming any address replaces them,
    /// so the metrics address is added to these rather than on its own.
    /// </summary>
    internal static string[] ServerUrls(IConfiguration configuration)
    {
        const StringSplitOptions Split = StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries;
        if (configuration["urls"] is { Length: > 0 } urls)
        {
            return urls.Split(';', Split);
        }
        string[] ports =
        [
            .. (configuration["http_ports"] ?? "").Split(';', Split).Select(port => $"http://*:{port}"),
            .. (configuration["https_ports"] ?? "").Split(';', Split).Select(port => $"https://*:{port}"),
        ];
        return ports.Length > 0 ? ports : ["http://localhost:5000"];
    }
}

/// <summary>
/// With tracing off nothing asks ASP.NET Core for a request Activity, and the logs would have no trace
/// id. This listener asks for one anyway, with ids only (continuing a caller's traceparent when there
/// is one) and nothing recorded.
/// </summary>
internal static class RequestTraceIds
{
    private static readonly Lazy<ActivityListener> Listener = new(() =>
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    });

    public static void Listen() => _ = Listener.Value;
}
