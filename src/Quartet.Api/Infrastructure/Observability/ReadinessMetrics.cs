using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Quartet.Api.Infrastructure.Health;

namespace Quartet.Api.Infrastructure.Observability;

/// <summary>
/// The readiness checks (PostgreSQL, Redis, schema), run in the background every
/// <see cref="Period"/> by ASP.NET Core's health check publisher, kept as gauges. A scrape reads the
/// last report and never waits for a dependency; an alert on <c>quartet_readiness_up == 0</c> hears
/// of a database the backend cannot reach even while nobody asks /health/ready.
/// </summary>
internal sealed class ReadinessMetrics : IHealthCheckPublisher
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    // One report for the process, written by the publisher and read at scrape time; static because
    // the gauges live on the static meter.
    private static volatile HealthReport? _last;

    static ReadinessMetrics()
    {
        var meter = QuartetMetrics.Meter;
        meter.CreateObservableGauge("quartet.readiness.up", Up,
            description: "1 when the readiness check passed at its last run, 0 when it failed, by check (postgres, redis, schema).");
        meter.CreateObservableGauge("quartet.migrations.applied", () => SchemaCount(SchemaHealthCheck.Applied),
            description: "How many of this binary's migrations the database has applied, at the last schema check.");
        meter.CreateObservableGauge("quartet.migrations.pending", () => SchemaCount(SchemaHealthCheck.Pending),
            description: "How many of this binary's migrations the database lacks, at the last schema check.");
    }

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        _last = report;
        return Task.CompletedTask;
    }

    private static IEnumerable<Measurement<int>> Up() =>
        _last?.Entries.Select(e => new Measurement<int>(e.Value.Status == HealthStatus.Healthy ? 1 : 0,
            new KeyValuePair<string, object?>("check", e.Key))) ?? [];

    private static IEnumerable<Measurement<int>> SchemaCount(string key) =>
        _last is { } report && report.Entries.TryGetValue("schema", out var schema) && schema.Data.TryGetValue(key, out var value)
            && value is int count
            ? [new Measurement<int>(count)]
            : [];
}
