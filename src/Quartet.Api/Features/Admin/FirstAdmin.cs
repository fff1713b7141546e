using Dapper;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Quartet.Api.Features.Users;
using Quartet.Api.Infrastructure;
using Quartet.Api.Infrastructure.Audit;
using Quartet.Api.Infrastructure.Migrations;
using Quartet.Api.Infrastructure.Passwords;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Features.Admin;

/// <summary>
/// Run by <c>migrate</c>: makes sure the account named by ADMIN_EMAIL exists, is an admin, and has the
/// hash in the admin_password_hash secret. Nothing happens when ADMIN_EMAIL is not set. The password
/// itself is never seen: generate-secrets.sh stores only its hash.
/// </summary>
internal sealed partial class FirstAdmin(IConfiguration configuration, SecretReader secrets, NpgsqlDataSource db, AuditLog audit, ILogger<FirstAdmin> logger)
    : IPostMigrationStep
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var email = UserAccounts.NormalizeEmail(configuration["ADMIN_EMAIL"]);
        if (email.Length == 0)
        {
            LogSkipped(logger);
            return;
        }
        if (UserAccounts.EmailError(email) is { } error)
        {
            throw new StartupException($"ADMIN_EMAIL is not usable: {error}");
        }
        var hash = secrets.Read(SecretSpec.AdminPasswordHash);
        if (!PasswordHashing.IsHash(hash))
        {
            throw new StartupException(
                "Secret 'admin_password_hash' is not a password hash; make it with scripts/generate-secrets.sh (or: printf '%s' \"$password\" | Quartet.Api hash-password).");
        }

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var (id, created, changed) = await connection.QuerySingleAsync<(Guid Id, bool Created, bool Changed)>(new CommandDefinition("""
            WITH existing AS (SELECT id, password_hash, role FROM users WHERE email = @email),
            inserted AS (
                INSERT INTO users (id, email, password_hash, role, email_verified_at)
                SELECT @newId, @email, @hash, 'admin', now() WHERE NOT EXISTS (SELECT 1 FROM existing)
                RETURNING id
            ),
            updated AS (
                UPDATE users SET password_hash = @hash, role = 'admin', updated_at = now()
                WHERE email = @email AND (password_hash <> @hash OR role <> 'admin')
                RETURNING id
            )
            SELECT coalesce((SELECT id FROM inserted), (SELECT id FROM existing)) AS id,
                   EXISTS (SELECT 1 FROM inserted) AS created,
                   EXISTS (SELECT 1 FROM updated) AS changed
            """, new { email, hash, newId = Guid.CreateVersion7() }, cancellationToken: cancellationToken));

        if (created || changed)
        {
            await audit.WriteAsync(
                created ? AuditEvents.FirstAdminCreated : AuditEvents.FirstAdminUpdated, id, null, null, new { email }, cancellationToken);
        }
        LogDone(logger, email, created ? "created" : changed ? "updated" : "unchanged");
    }

    public static IHostApplicationBuilder AddFirstAdmin(IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<AuditLog>();
        builder.Services.AddSingleton<IPostMigrationStep, FirstAdmin>();
        return builder;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ADMIN_EMAIL is not set: no first admin to create")]
    private static partial void LogSkipped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "First admin {Email}: {Outcome}")]
    private static partial void LogDone(ILogger logger, string email, string outcome);
}
