using Microsoft.Extensions.Options;
using Quartet.Api.Features;
using Quartet.Api.Infrastructure;
using Quartet.Api.Infrastructure.Auth;
using Quartet.Api.Infrastructure.Commands;
using Quartet.Api.Infrastructure.Database;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.Health;
using Quartet.Api.Infrastructure.Http;
using Quartet.Api.Infrastructure.Logging;
using Quartet.Api.Infrastructure.Mail;
using Quartet.Api.Infrastructure.Migrations;
using Quartet.Api.Infrastructure.Observability;
using Quartet.Api.Infrastructure.OpenApi;
using Quartet.Api.Infrastructure.RateLimiting;
using Quartet.Api.Infrastructure.Redis;

var command = AppCommands.Parse(args);
if (command is not (AppCommand.Serve or AppCommand.Migrate))
{
    return await ToolCommands.RunAsync(command, args);
}

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddJsonLogging();
    builder.AddDatabase(asOwner: command == AppCommand.Migrate);
    builder.AddMigrations();

    if (command == AppCommand.Migrate)
    {
        builder.AddMigrationSteps();
        // Disposed before exit, so the console logger writes out every queued line.
        await using var migrator = builder.Build();
        return await migrator.RunMigrateCommandAsync(CancellationToken.None);
    }

    builder.AddHttpLimits();
    builder.AddHostAllowlist();
    builder.AddRedis();
    builder.AddProblemResponses();
    builder.AddHealth();
    builder.AddQuartetAuth();
    builder.AddWriteRateLimits();
    builder.AddMail();
    builder.AddFeatures();
    builder.AddOpenApiDocument();
    builder.AddObservability();

    var app = builder.Build();
    app.UseMetricsEndpoint();
    app.UseRequestLogging();
    app.UseNoStoreForApi();
    app.UseHostAllowlist();
    app.UseProblemResponses();
    app.UseRequestBodyLimit();
    app.UseRequestCharsetCheck();
    app.UseQuartetAuth();
    app.UseWriteRateLimits();
    app.MapHealth();
    app.MapFeatures();
    app.MapOpenApiDocument();

    await app.WaitForDependenciesAsync();
    await app.RunAsync();
    return 0;
}
catch (StartupException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return 1;
}
catch (OptionsValidationException e)
{
    await Console.Error.WriteLineAsync("Invalid configuration: " + string.Join("; ", e.Failures));
    return 1;
}
