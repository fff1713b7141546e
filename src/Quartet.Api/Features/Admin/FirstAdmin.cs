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
/// itself is never seen: generate-secrets.sh stores only its hash. An existing account that is not an admin
/// is promoted only when ADMIN_PROMOTE_EXISTING is true; otherwise migrate stops and says so. Replacing the
/// hash or promoting raises the account's auth epoch, which ends its sessions and tokens (decision 0014).
/// </summary>
internal sealed partial class FirstAdmin(IConfiguration configuration, SecretReader secrets, NpgsqlDataSource db, AuditLog audit, ILogger<FirstAdmin> logger)
    : IPostMigrationStep
{
    /// <summary>The setting (an environment variable, or a <c>--name=value</c> argument of migrate) that allows promoting an existing account.</summary>
    public const string PromoteSetting = "ADMIN_PROMOTE_EXISTING";

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

        var promote = configuration.GetValue<bool>(PromoteSetting);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Two migrate runs at once (several replicas starting) take turns here.
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtext('quartet:first-admin'))",
            transaction: transaction, cancellationToken: cancellationToken));
        var existing = await connection.QuerySingleOrDefaultAsync<(Guid Id, string PasswordHash, string Role)?>(new CommandDefinition(
            "SELECT id, password_hash, role FROM users WHERE email = @email FOR UPDATE", new { email }, transaction, cancellationToken: cancellationToken));
        string outcome;
        Guid id;
        if (existing is not { } account)
        {
            id = Guid.CreateVersion7();
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO users (id, email, password_hash, role, email_verified_at) VALUES (@id, @email, @hash, 'admin', now())",
                new { id, email, hash }, transaction, cancellationToken: cancellationToken));
            outcome = AuditEvents.FirstAdminCreated;
        }
        else if (account.Role != "admin")
        {
            if (!promote)
            {
                throw new StartupException(
                    $"ADMIN_EMAIL names an existing account that is not an admin; migrate promotes it only with {PromoteSetting}=true (or: migrate --{PromoteSetting}=true).");
            }
            id = account.Id;
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE users SET role = 'admin', password_hash = @hash, auth_epoch = auth_epoch + 1, updated_at = now() WHERE id = @id",
                new { id, hash }, transaction, cancellationToken: cancellationToken));
            outcome = AuditEvents.FirstAdminPromoted;
        }
        else if (account.PasswordHash != hash)
        {
            id = account.Id;
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE users SET password_hash = @hash, auth_epoch = auth_epoch + 1, updated_at = now() WHERE id = @id",
                new { id, hash }, transaction, cancellationToken: cancellationToken));
            outcome = AuditEvents.FirstAdminUpdated;
        }
        else
        {
            await transaction.CommitAsync(cancellationToken);
            LogDone(logger, email, "unchanged");
            return;
        }
        await transaction.CommitAsync(cancellationToken);

        await audit.WriteAsync(outcome, id, null, null, new { email }, cancellationToken);
        LogDone(logger, email, outcome == AuditEvents.FirstAdminCreated ? "created" : outcome == AuditEvents.FirstAdminPromoted ? "promoted" : "updated");
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
