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

/// <summary>The admin area: find users, disable and enable them, end their sessions. Role admin only.</summary>
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
        if (!await SetDisabledAsync(db, id, disabled: true, cancellationToken))
        {
            return Problems.NotFound("user");
        }
        var ended = await signOut.EndEverythingAsync(id);
        await audit.WriteAsync(AuditEvents.AdminDisabledUser, id, context.User.Id(), context, new { sessionsEnded = ended }, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Enable(
        Guid id, NpgsqlDataSource db, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        if (!await SetDisabledAsync(db, id, disabled: false, cancellationToken))
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
        if (await UserAccounts.FindByIdAsync(db, id, cancellationToken) is null)
        {
            return Problems.NotFound("user");
        }
        var ended = await signOut.EndEverythingAsync(id);
        await audit.WriteAsync(AuditEvents.AdminEndedSessions, id, context.User.Id(), context, new { ended }, cancellationToken);
        return TypedResults.Ok(new EndedResponse(ended));
    }

    private static async Task<bool> SetDisabledAsync(NpgsqlDataSource db, Guid id, bool disabled, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE users SET disabled_at = CASE WHEN @disabled THEN coalesce(disabled_at, now()) END, updated_at = now()
            WHERE id = @id
            """, new { id, disabled }, cancellationToken: cancellationToken)) == 1;
    }
}
