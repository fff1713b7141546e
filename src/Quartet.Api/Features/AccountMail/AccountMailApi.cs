using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Quartet.Api.Features.Users;
using Quartet.Api.Infrastructure.Audit;
using Quartet.Api.Infrastructure.Auth;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.Mail;
using Quartet.Api.Infrastructure.OpenApi;
using Quartet.Api.Infrastructure.Passwords;

namespace Quartet.Api.Features.AccountMail;

internal sealed record PasswordResetRequest(string? Email);

internal sealed record PasswordResetConfirmation(string? Token, string? NewPassword);

internal sealed record VerifyEmailRequest(string? Token);

internal sealed record EmailStatusResponse(string Email, bool Verified, DateTimeOffset? VerifiedAt);

internal sealed record ChangeEmailRequest(string? Email, string? CurrentPassword);

/// <summary>
/// What an account does by mail: verify its address and reset a forgotten password. Requests only queue
/// a mail (<see cref="MailOutbox"/>); the worker makes the link's token when it sends, so a reset request
/// does the same work, and gets the same 202, whether or not the address has an account.
/// </summary>
internal static class AccountMailApi
{
    public static void MapAccountMailApi(this IEndpointRouteBuilder routes)
    {
        var open = routes.MapGroup("/api/auth").WithTags("Account mail").WithProblems(400, 403, 413, 503);
        open.MapPost("/password-reset", RequestReset).WithName("RequestPasswordReset").ProducesProblem(429);
        open.MapPost("/password-reset/confirm", ConfirmReset).WithName("ResetPassword");
        open.MapPost("/verify-email", VerifyEmail).WithName("VerifyEmail");

        var account = routes.MapGroup("/api/account/email").WithTags("Account mail").RequireAuthorization().WithProblems(400, 401, 403, 503);
        account.MapGet("", EmailStatus).WithName("GetEmailStatus").ProducesProblem(404);
        account.MapPut("", ChangeEmail).WithName("ChangeEmail").ProducesProblem(404).ProducesProblem(409).ProducesProblem(413).ProducesProblem(429);
        account.MapPost("/verification", ResendVerification).WithName("ResendVerification").ProducesProblem(404).ProducesProblem(409)
            .ProducesProblem(429);
    }

    /// <summary>202 for any well-formed address: the answer and the work are the same whether or not it has an account.</summary>
    private static async Task<Results<Accepted, ValidationProblem, ProblemHttpResult>> RequestReset(
        PasswordResetRequest body, MailOutbox outbox, AccountMailThrottle throttle, HttpContext context, CancellationToken cancellationToken)
    {
        var email = UserAccounts.NormalizeEmail(body.Email);
        if (UserAccounts.EmailError(email) is { } error)
        {
            return new FieldErrors().Add("email", error).ToProblem();
        }
        if (await throttle.ResetRequestAsync(email) is { } wait)
        {
            return Throttled(context, wait, "Too many reset requests for this address");
        }
        await outbox.EnqueueAsync(ResetPasswordComposer.Name, email, null, context.TraceIdentifier, cancellationToken);
        return TypedResults.Accepted((string?)null);
    }

    /// <summary>Sets the new password, then ends every session and token of the account, the caller's own included.</summary>
    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ConfirmReset(
        PasswordResetConfirmation body, NpgsqlDataSource db, PasswordHashing passwords, UserSignOut signOut, AuditLog audit,
        HttpContext context, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var hash = TokenHash(body.Token, errors);
        if (UserAccounts.PasswordError(body.NewPassword) is { } passwordError)
        {
            errors.Add("newPassword", passwordError);
        }
        if (hash is null || !errors.IsEmpty)
        {
            return errors.ToProblem();
        }
        if (await AccountTokens.ResetPasswordAsync(db, hash, Caller(context), await passwords.HashAsync(body.NewPassword!, cancellationToken), cancellationToken) is not var (userId, epoch))
        {
            return InvalidLink();
        }
        var ended = await signOut.EndEverythingAsync(userId, epoch);
        if (context.User.SessionId() is not null)
        {
            SessionCookie.Delete(context);
        }
        await audit.WriteAsync(AuditEvents.PasswordReset, userId, userId, context, new { sessionsEnded = ended }, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> VerifyEmail(
        VerifyEmailRequest body, NpgsqlDataSource db, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (TokenHash(body.Token, errors) is not { } hash)
        {
            return errors.ToProblem();
        }
        if (await AccountTokens.VerifyEmailAsync(db, hash, Caller(context), cancellationToken) is not { } userId)
        {
            return InvalidLink();
        }
        await audit.WriteAsync(AuditEvents.EmailVerified, userId, userId, context, cancellationToken: cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<EmailStatusResponse>, ProblemHttpResult>> EmailStatus(
        NpgsqlDataSource db, HttpContext context, CancellationToken cancellationToken)
    {
        var user = await UserAccounts.FindByIdAsync(db, context.User.Id(), cancellationToken);
        return user is null
            ? Problems.NotFound("account")
            : TypedResults.Ok(new EmailStatusResponse(user.Email, user.EmailVerifiedAt is not null,
                user.EmailVerifiedAt is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null));
    }

    /// <summary>
    /// A new address needs the current password, starts unverified (a verification mail goes to it) and
    /// ends every session and token of the account, this one included: sessions and access tokens carry
    /// the address, so the user logs in again with the new one. The old address is told.
    /// </summary>
    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ChangeEmail(
        ChangeEmailRequest body, NpgsqlDataSource db, CurrentPassword currentPassword, UserSignOut signOut, MailOutbox outbox, AuditLog audit,
        HttpContext context, CancellationToken cancellationToken)
    {
        var user = await UserAccounts.FindByIdAsync(db, context.User.Id(), cancellationToken);
        if (user is null)
        {
            return Problems.NotFound("account");
        }
        var email = UserAccounts.NormalizeEmail(body.Email);
        var errors = new FieldErrors();
        if (UserAccounts.EmailError(email) is { } emailError)
        {
            errors.Add("email", emailError);
        }
        else if (email == user.Email)
        {
            errors.Add("email", "This is the address the account has already.");
        }
        var current = await currentPassword.VerifyAsync(user, body.CurrentPassword, context, cancellationToken);
        if (current.Throttled is { } throttled)
        {
            return throttled;
        }
        if (!current.Verified)
        {
            errors.Add("currentPassword", "The current password is wrong.");
        }
        if (!errors.IsEmpty)
        {
            return errors.ToProblem();
        }
        if (await UserAccounts.TryChangeEmailAsync(db, user.Id, email, cancellationToken) is not { } epoch)
        {
            return Problems.Conflict("An account with that email already exists.");
        }
        await outbox.EnqueueAsync(VerifyEmailComposer.Name, email, user.Id, context.TraceIdentifier, cancellationToken);
        await outbox.EnqueueAsync(EmailChangedComposer.Name, user.Email, user.Id, context.TraceIdentifier, cancellationToken);
        var ended = await signOut.EndEverythingAsync(user.Id, epoch);
        SessionCookie.Delete(context);
        await audit.WriteAsync(AuditEvents.EmailChanged, user.Id, user.Id, context, new { from = user.Email, to = email, sessionsEnded = ended },
            cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Accepted, ProblemHttpResult>> ResendVerification(
        NpgsqlDataSource db, MailOutbox outbox, AccountMailThrottle throttle, HttpContext context, CancellationToken cancellationToken)
    {
        var user = await UserAccounts.FindByIdAsync(db, context.User.Id(), cancellationToken);
        if (user is null)
        {
            return Problems.NotFound("account");
        }
        if (user.EmailVerifiedAt is not null)
        {
            return Problems.Conflict("Your email address is already verified.");
        }
        if (await throttle.ResendAsync(user.Id) is { } wait)
        {
            return Throttled(context, wait, "Too many verification mails");
        }
        await outbox.EnqueueAsync(VerifyEmailComposer.Name, user.Email, user.Id, context.TraceIdentifier, cancellationToken);
        return TypedResults.Accepted((string?)null);
    }

    /// <summary>Queues the verification mail of a new account.</summary>
    public static Task SendVerificationAsync(MailOutbox outbox, User user, HttpContext context, CancellationToken cancellationToken) =>
        outbox.EnqueueAsync(VerifyEmailComposer.Name, user.Email, user.Id, context.TraceIdentifier, cancellationToken);

    /// <summary>A signed-in caller may spend only their own account's tokens; anyone else's link is refused, unspent.</summary>
    private static Guid? Caller(HttpContext context) => context.User.Identity?.IsAuthenticated == true ? context.User.Id() : null;

    private static byte[]? TokenHash(string? token, FieldErrors errors)
    {
        var hash = AccountTokens.HashOf(token);
        if (hash is null)
        {
            errors.Add("token", string.IsNullOrEmpty(token) ? "Token is required." : "This is not a token from a Quartet link; copy the whole link from the mail.");
        }
        return hash;
    }

    private static ProblemHttpResult InvalidLink() =>
        Problems.Of(StatusCodes.Status400BadRequest, ProblemTypes.InvalidLink, "Invalid link",
            "This link is unknown, expired, already used or meant for another account. Ask for a new one.");

    private static ProblemHttpResult Throttled(HttpContext context, TimeSpan wait, string title)
    {
        var seconds = (int)Math.Ceiling(wait.TotalSeconds);
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return Problems.Of(StatusCodes.Status429TooManyRequests, ProblemTypes.Throttled, title, $"{title}. Try again in {seconds} seconds.");
    }
}
