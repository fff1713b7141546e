using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.Migrations;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Infrastructure.Health;

internal static class HealthExtensions
{
    private const string Ready = "ready";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(2);
    private static readonly HttpMethodMetadata ReadOnly = new([HttpMethods.Get, HttpMethods.Head]);

    public static IHostApplicationBuilder AddHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks()
            .AddCheck<PostgresHealthCheck>("postgres", HealthStatus.Unhealthy, [Ready], CheckTimeout)
            .AddCheck<RedisHealthCheck>("redis", HealthStatus.Unhealthy, [Ready], CheckTimeout)
            .AddCheck<SchemaHealthCheck>("schema", HealthStatus.Unhealthy, [Ready], CheckTimeout);
        return builder;
    }

    /// <summary>
    /// /health/live: the process answers. /health/ready: PostgreSQL and Redis answer and no migration is
    /// pending; otherwise 503 problem+json naming what is down. Both exist in every environment.
    /// </summary>
    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = (context, _) => context.Response.WriteAsJsonAsync(new HealthBody("live", null)),
        }).WithMetadata(ReadOnly).DisableHttpMetrics();

        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Ready),
            ResponseWriter = WriteReadinessAsync,
        }).WithMetadata(ReadOnly).DisableHttpMetrics();
        return app;
    }

    private static Task WriteReadinessAsync(HttpContext context, HealthReport report)
    {
        var checks = report.Entries.ToDictionary(e => e.Key, e => e.Value.Description ?? e.Value.Status.ToString());
        if (report.Status == HealthStatus.Healthy)
        {
            return context.Response.WriteAsJsonAsync(new HealthBody("ready", checks));
        }

        var down = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => $"{e.Key} ({e.Value.Description})");
        var problem = new ProblemDetails
        {
            Type = ProblemTypes.NotReady,
            Title = "Service not ready",
            Status = StatusCodes.Status503ServiceUnavailable,
            Detail = "Not ready: " + string.Join(", ", down) + ".",
            Extensions = { ["checks"] = checks },
        };
        return context.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).AsTask();
    }


}

internal sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy("up");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("down");
        }
    }
}

internal sealed class RedisHealthCheck(IRedisStore redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await redis.PingAsync().WaitAsync(cancellationToken);
            return HealthCheckResult.Healthy("up");
        }
        catch (Exception e) when (e is DependencyUnavailableException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("down");
        }
    }
}

internal sealed class SchemaHealthCheck(Migrator migrator, MigrationCatalog catalog) : IHealthCheck
{
    /// <summary>Keys of the result's data: how many of this binary's migrations are applied and pending (for the metrics).</summary>
    public const string Applied = "applied";
    public const string Pending = "pending";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var (pending, changed) = await migrator.CheckAsync(cancellationToken);
            var data = new Dictionary<string, object> { [Applied] = catalog.Migrations.Count - pending.Count, [Pending] = pending.Count };
            if (changed.Count > 0)
            {
                return HealthCheckResult.Unhealthy($"{changed[0].FileName} changed after it was applied", data: data);
            }
            return pending.Count == 0
                ? HealthCheckResult.Healthy("current", data)
                : HealthCheckResult.Unhealthy($"{pending.Count} migration(s) pending, first {pending[0].FileName}", data: data);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("unknown");
        }
    }
}

internal sealed record HealthBody(string Status, Dictionary<string, string>? Checks);
