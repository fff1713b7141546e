using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Quartet.Api.Features.Users;
using Quartet.Api.Infrastructure.Audit;
using Quartet.Api.Infrastructure.Auth;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.OpenApi;
using Quartet.Api.Infrastructure.Passwords;

namespace Quartet.Api.Features.Account;

internal sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

internal sealed record SessionResponse(string Id, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, string? Ip, string? UserAgent, bool Current);

internal sealed record EndedResponse(int Ended);

/// <summary>What a signed-in user does to their own account: change the password, see and end sessions.</summary>
internal static class AccountApi
{
    public static RouteGroupBuilder MapAccountApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/account").WithTags("Account").RequireAuthorization().WithProblems(400, 401, 403, 503);
        group.MapPost("/password", ChangePassword).WithName("ChangePassword").ProducesProblem(413).ProducesProblem(429);
        group.MapGet("/sessions", ListSessions).WithName("ListSessions");
        group.MapDelete("/sessions/{id}", EndSession).WithName("EndSession").ProducesProblem(404);
        group.MapPost("/sessions/revoke-others", EndOtherSessions).WithName("EndOtherSessions");
        return group;
    }

    /// <summary>Ends every other session and every refresh and access token of the user; the current session stays.</summary>
    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ChangePassword(
        ChangePasswordRequest body, NpgsqlDataSource db, PasswordHashing passwords, CurrentPassword currentPassword, UserSignOut signOut,
        AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        var userId = context.User.Id();
        var user = await UserAccounts.FindByIdAsync(db, userId, cancellationToken);
        var errors = new FieldErrors();
        var current = user is null ? default : await currentPassword.VerifyAsync(user, body.CurrentPassword, context, cancellationToken);
        if (current.Throttled is { } throttled)
        {
            return throttled;
        }
        if (!current.Verified)
        {
            errors.Add("currentPassword", "The current password is wrong.");
        }
        if (UserAccounts.PasswordError(body.NewPassword) is { } passwordError)
        {
            errors.Add("newPassword", passwordError);
        }
        else if (body.NewPassword == body.CurrentPassword)
        {
            errors.Add("newPassword", "The new password must differ from the current one.");
        }
        if (!errors.IsEmpty)
        {
            return errors.ToProblem();
        }

        if (await UserAccounts.ReplacePasswordAsync(db, userId, user!.PasswordHash, await passwords.HashAsync(body.NewPassword!, cancellationToken), cancellationToken) is not { } epoch)
        {
            // Another change got there first: the password this one was checked against is no longer current.
            return new FieldErrors().Add("currentPassword", "The current password is wrong.").ToProblem();
        }
        var ended = await signOut.EndEverythingAsync(userId, epoch, keepSessionId: context.User.SessionId());
        await audit.WriteAsync(AuditEvents.PasswordChanged, userId, userId, context, new { sessionsEnded = ended }, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<SessionResponse[]>> ListSessions(SessionStore sessions, HttpContext context)
    {
        var current = context.User.SessionId();
        var list = await sessions.ListAsync(context.User.Id());
        return TypedResults.Ok(list.Select(s => new SessionResponse(s.Id, s.CreatedAt, s.LastSeenAt, s.Ip, s.UserAgent, s.Id == current)).ToArray());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> EndSession(
        string id, SessionStore sessions, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        var userId = context.User.Id();
        if (!await sessions.EndAsync(userId, id))
        {
            return Problems.NotFound("session");
        }
        if (id == context.User.SessionId())
        {
            SessionCookie.Delete(context);
        }
        await audit.WriteAsync(AuditEvents.SessionEnded, userId, userId, context, cancellationToken: cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<EndedResponse>> EndOtherSessions(
        SessionStore sessions, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        var userId = context.User.Id();
        var ended = await sessions.EndAllAsync(userId, keep: context.User.SessionId());
        await audit.WriteAsync(AuditEvents.OtherSessionsEnded, userId, userId, context, new { ended }, cancellationToken);
        return TypedResults.Ok(new EndedResponse(ended));
    }
}
