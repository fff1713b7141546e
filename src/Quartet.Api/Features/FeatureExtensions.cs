using Quartet.Api.Features.Account;
using Quartet.Api.Features.AccountMail;
using Quartet.Api.Features.Admin;
using Quartet.Api.Features.Auth;
using Quartet.Api.Features.Notes;
using Quartet.Api.Infrastructure.Database;
using Quartet.Api.Infrastructure.Idempotency;
using Quartet.Api.Infrastructure.Migrations;

namespace Quartet.Api.Features;

/// <summary>The features, registered and mapped in one place; Program.cs calls these two.</summary>
internal static class FeatureExtensions
{
    public static IHostApplicationBuilder AddFeatures(this IHostApplicationBuilder builder)
    {
        ApiJsonContext.AddApiJson(builder);
        builder.Services.AddSingleton<LoginService>();
        builder.Services.AddSingleton<NoteCache>();
        builder.AddIdempotency();
        builder.AddNoteQuotas();
        builder.AddAccountMail();
        return builder;
    }

    /// <summary>What <c>migrate</c> does once the schema is current.</summary>
    public static IHostApplicationBuilder AddMigrationSteps(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IPostMigrationStep, AppRole>();
        return FirstAdmin.AddFirstAdmin(builder);
    }

    public static WebApplication MapFeatures(this WebApplication app)
    {
        app.MapAuthApi();
        app.MapAccountApi();
        app.MapAccountMailApi();
        app.MapAdminApi();
        app.MapAdminMailApi();
        app.MapNotesApi();
        return app;
    }
}
