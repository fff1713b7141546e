using Microsoft.AspNetCore.Http.HttpResults;
using Quartet.Api.Infrastructure.Audit;
using Quartet.Api.Infrastructure.Auth;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.Mail;
using Quartet.Api.Infrastructure.OpenApi;

namespace Quartet.Api.Features.Admin;

/// <summary>The outbox's dead letters: mails whose attempts ran out or that the server refused for good. Role admin only.</summary>
internal static class AdminMailApi
{
    private const int MaxLimit = 200;

    public static RouteGroupBuilder MapAdminMailApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin/mail").WithTags("Admin").RequireAuthorization(AuthExtensions.AdminPolicy)
            .WithProblems(400, 401, 403, 503);
        group.MapGet("/dead", ListDead).WithName("ListDeadMail");
        group.MapPost("/{id:long}/retry", Retry).WithName("RetryDeadMail").ProducesProblem(404);
        return group;
    }

    /// <summary>The newest dead mails first. Their bodies were never stored: a retry composes them again.</summary>
    private static async Task<Results<Ok<DeadMail[]>, ValidationProblem>> ListDead(MailOutbox outbox, CancellationToken cancellationToken, int limit = 50)
    {
        if (limit is < 1 or > MaxLimit)
        {
            return new FieldErrors().Add("limit", $"Limit must be 1 to {MaxLimit}.").ToProblem();
        }
        return TypedResults.Ok((await outbox.ListDeadAsync(limit, cancellationToken)).ToArray());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Retry(
        long id, MailOutbox outbox, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        if (!await outbox.RequeueDeadAsync(id, cancellationToken))
        {
            return Problems.NotFound("dead mail");
        }
        await audit.WriteAsync(AuditEvents.AdminRequeuedMail, null, context.User.Id(), context, new { mail = id }, cancellationToken);
        return TypedResults.NoContent();
    }
}
