using Npgsql;
using Quartet.Api.Infrastructure.Database;
using Quartet.Api.Infrastructure.Migrations;
using Quartet.Api.Infrastructure.Redis;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure;

internal static class Startup
{
    /// <summary>
    /// Before serving: every secret is read and validated (the singletons that hold them are built), the
    /// migration catalog loads, and PostgreSQL answers within the bounded wait. Redis is not waited for:
    /// readiness reports it, and the client connects whenever it comes.
    /// </summary>
    public static async Task WaitForDependenciesAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        app.Services.GetRequiredService<NpgsqlDataSource>();
        app.Services.GetRequiredService<IRedisStore>();
        app.Services.GetRequiredService<AuthSecrets>();
        app.Services.GetRequiredService<MigrationCatalog>();
        await app.Services.GetRequiredService<DatabaseStartup>().WaitAsync(cancellationToken);
    }
}
