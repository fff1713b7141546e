using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Database;

namespace Quartet.Api.Infrastructure.Migrations;

internal static class MigrationExtensions
{
    public static IHostApplicationBuilder AddMigrations(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp => MigrationCatalog.Load(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.MigrationsPath));
        builder.Services.AddSingleton<Migrator>();
        return builder;
    }

    /// <summary>
    /// The <c>migrate</c> command: the bootstrap as the superuser (roles, ownership), then as the owner: wait
    /// for PostgreSQL, apply what is pending, keep the grants; exit 0 or 1.
    /// </summary>
    public static async Task<int> RunMigrateCommandAsync(this WebApplication app, CancellationToken cancellationToken)
    {
        await app.Services.GetRequiredService<DatabaseBootstrap>().RunAsync(cancellationToken);
        await app.Services.GetRequiredService<DatabaseStartup>().WaitAsync(cancellationToken);
        try
        {
            await app.Services.GetRequiredService<Migrator>().MigrateAsync(cancellationToken);
        }
        catch (MigrationException e)
        {
            throw new StartupException(e.Message);
        }
        foreach (var step in app.Services.GetServices<IPostMigrationStep>())
        {
            await step.RunAsync(cancellationToken);
        }
        return 0;
    }
}

/// <summary>Work <c>migrate</c> does once the schema is current (creating the first admin, for one).</summary>
internal interface IPostMigrationStep
{
    Task RunAsync(CancellationToken cancellationToken);
}
