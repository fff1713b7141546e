using Npgsql;
using Quartet.Api.Infrastructure.Database;
using Quartet.Api.Infrastructure.Mail;
using Quartet.Api.Infrastructure.Migrations;
using Quartet.Api.Infrastructure.Redis;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure;

internal static class Startup
{
    /// <summary>
    /// Before serving: every secret is read and validated (the singletons that hold them are built), the
    /// migration catalog loads, and PostgreSQL answers within the bounded wait. Redis is not waited for:
    /// readiness reports it, and the client connects whenever it comes (the first attempt starts here).
    /// </summary>
    public static async Task WaitForDependenciesAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        app.Services.GetRequiredService<NpgsqlDataSource>();
        var redis = app.Services.GetRequiredService<IRedisStore>();
        // Connect while PostgreSQL is awaited, so the first readiness probe finds the connection made.
        // Not waited for, and a failure here is only reported by readiness.
        _ = Task.Run(async () =>
        {
            try
            {
                await redis.PingAsync();
            }
            catch (DependencyUnavailableException)
            {
            }
        }, cancellationToken);
        app.Services.GetRequiredService<AuthSecrets>();
        app.Services.GetRequiredService<MailCredentials>();
        app.Services.GetRequiredService<MigrationCatalog>();
        await app.Services.GetRequiredService<DatabaseStartup>().WaitAsync(cancellationToken);
    }
}
