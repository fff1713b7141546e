using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Quartet.Api.Features.Account;
using Quartet.Api.Features.Users;
using Quartet.Api.Infrastructure.Audit;
using Quartet.Api.Infrastructure.Auth;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.OpenApi;

namespace Quartet.Api.Features.Admin;

internal sealed record AdminUser(Guid Id, string Email, string Role, bool Disabled, DateTime CreatedAt);

internal sealed record UserPage(AdminUser[] Items, int Page, int PageSize, long Total);

/// <summary>The admin area: find users, disable and enable them, end their sessions, demote admins. Role admin only.</summary>
internal static class AdminApi
{
    private const int MaxPageSize = 100;

    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin").WithTags("Admin").RequireAuthorization(AuthExtensions.AdminPolicy)
            .WithProblems(400, 401, 403, 503);
        group.MapGet("/users", ListUsers).WithName("ListUsers");
        group.MapPost("/users/{id:guid}/disable", Disable).WithName("DisableUser").ProducesProblem(404).ProducesProblem(409);
        group.MapPost("/users/{id:guid}/enable", Enable).WithName("EnableUser").ProducesProblem(404);
        group.MapPost("/users/{id:guid}/end-sessions", EndSessions).WithName("EndUserSessions").ProducesProblem(404);
        group.MapPost("/users/{id:guid}/demote", Demote).WithName("DemoteUser").ProducesProblem(404).ProducesProblem(409);
        return group;
    }

    /// <summary>Users whose email contains <paramref name="q"/>, oldest first, a page at a time.</summary>
    private static async Task<Results<Ok<UserPage>, ValidationProblem>> ListUsers(
        NpgsqlDataSource db, CancellationToken cancellationToken, string? q = null, int page = 1, int pageSize = 20)
    {
        var errors = new FieldErrors();
        if (page < 1)
        {
            errors.Add("page", "Page starts at 1.");
        }
        if (pageSize is < 1 or > MaxPageSize)
        {
            errors.Add("pageSize", $"Page size must be 1 to {MaxPageSize}.");
        }
        if (q is { Length: > 254 } || q.HasNul())
        {
            errors.Add("q", "Search text must be at most 254 characters, with no NUL character.");
        }
        if (!errors.IsEmpty)
        {
            return errors.ToProblem();
        }

        // The offset in 64 bits: a page near int.MaxValue would wrap to a negative OFFSET, which PostgreSQL refuses.
        // LIKE wildcards typed by the admin are searched for literally.
        var pattern = "%" + (q ?? "").Trim().ToLowerInvariant().Replace(@"\", @"\\", StringComparison.Ordinal)
            .Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal) + "%";
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<(Guid Id, string Email, string Role, DateTime? DisabledAt, DateTime CreatedAt, long Total)>(
            new CommandDefinition("""
                SELECT id, email, role, disabled_at, created_at, count(*) OVER () AS total
                FROM users WHERE email LIKE @pattern
                ORDER BY created_at, id
                LIMIT @pageSize OFFSET @offset
                """, new { pattern, pageSize, offset = (long)(page - 1) * pageSize }, cancellationToken: cancellationToken))).ToList();
        var total = rows.Count > 0 ? rows[0].Total
            : await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT count(*) FROM users WHERE email LIKE @pattern", new { pattern }, cancellationToken: cancellationToken));
        return TypedResults.Ok(new UserPage(
            [.. rows.Select(r => new AdminUser(r.Id, r.Email, r.Role, r.DisabledAt is not null, r.CreatedAt))], page, pageSize, total));
    }

    /// <summary>Disabling also ends the user's sessions, refresh tokens and access tokens at once.</summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> Disable(
        Guid id, NpgsqlDataSource db, UserSignOut signOut, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        if (id == context.User.Id())
        {
            return Problems.Conflict("Admins cannot disable their own account.");
        }
        if (await DisableAsync(db, id, cancellationToken) is not { } epoch)
        {
            return Problems.NotFound("user");
        }
        var ended = await signOut.EndEverythingAsync(id, epoch);
        await audit.WriteAsync(AuditEvents.AdminDisabledUser, id, context.User.Id(), context, new { sessionsEnded = ended }, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Enable(
        Guid id, NpgsqlDataSource db, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        if (!await EnableAsync(db, id, cancellationToken))
        {
            return Problems.NotFound("user");
        }
        await audit.WriteAsync(AuditEvents.AdminEnabledUser, id, context.User.Id(), context, cancellationToken: cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>Signs the user out everywhere: cookie sessions, refresh tokens and access tokens.</summary>
    private static async Task<Results<Ok<EndedResponse>, ProblemHttpResult>> EndSessions(
        Guid id, NpgsqlDataSource db, UserSignOut signOut, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        if (await UserAccounts.RaiseAuthEpochAsync(db, id, cancellationToken) is not { } epoch)
        {
            return Problems.NotFound("user");
        }
        var ended = await signOut.EndEverythingAsync(id, epoch);
        await audit.WriteAsync(AuditEvents.AdminEndedSessions, id, context.User.Id(), context, new { ended }, cancellationToken);
        return TypedResults.Ok(new EndedResponse(ended));
    }

    /// <summary>
    /// Takes the admin role away and ends the account's sessions and tokens (they carry the role). The last
    /// enabled admin stays: with none, nobody could use the admin area, or undo this, without migrate.
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> Demote(
        Guid id, NpgsqlDataSource db, UserSignOut signOut, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        var (outcome, epoch) = await DemoteAsync(db, id, cancellationToken);
        switch (outcome)
        {
            case DemoteOutcome.NotFound:
                return Problems.NotFound("user");
            case DemoteOutcome.NotAdmin:
                return Problems.Conflict("This account is not an admin.");
            case DemoteOutcome.LastAdmin:
                return Problems.Conflict("This is the last enabled admin; make another admin first.");
        }
        var ended = await signOut.EndEverythingAsync(id, epoch);
        await audit.WriteAsync(AuditEvents.AdminDemotedUser, id, context.User.Id(), context, new { sessionsEnded = ended }, cancellationToken);
        return TypedResults.NoContent();
    }

    private enum DemoteOutcome
    {
        Demoted,
        NotFound,
        NotAdmin,
        LastAdmin,
    }

    private static async Task<(DemoteOutcome Outcome, long Epoch)> DemoteAsync(NpgsqlDataSource db, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Locking every enabled admin's row serialises demotions: two admins demoting each other at once cannot
        // both see the other as the one who remains.
        var admins = (await connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE",
            transaction: transaction, cancellationToken: cancellationToken))).ToList();
        var role = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT role FROM users WHERE id = @id FOR UPDATE", new { id }, transaction, cancellationToken: cancellationToken));
        if (role is null)
        {
            return (DemoteOutcome.NotFound, 0);
        }
        if (role != "admin")
        {
            return (DemoteOutcome.NotAdmin, 0);
        }
        if (admins.All(admin => admin == id))
        {
            return (DemoteOutcome.LastAdmin, 0);
        }
        var epoch = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "UPDATE users SET role = 'user', auth_epoch = auth_epoch + 1, updated_at = now() WHERE id = @id RETURNING auth_epoch",
            new { id }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return (DemoteOutcome.Demoted, epoch);
    }

    /// <summary>Disables the account and raises its auth epoch in one statement; the new epoch, or null when there is no such account.</summary>
    private static async Task<long?> DisableAsync(NpgsqlDataSource db, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition("""
            UPDATE users SET disabled_at = coalesce(disabled_at, now()), auth_epoch = auth_epoch + 1, updated_at = now()
            WHERE id = @id
            RETURNING auth_epoch
            """, new { id }, cancellationToken: cancellationToken));
    }

    private static async Task<bool> EnableAsync(NpgsqlDataSource db, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET disabled_at = NULL, updated_at = now() WHERE id = @id",
            new { id }, cancellationToken: cancellationToken)) == 1;
    }
}
