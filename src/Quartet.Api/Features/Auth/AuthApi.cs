using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Npgsql;
using Quartet.Api.Features.AccountMail;
using Quartet.Api.Features.Users;
using Quartet.Api.Infrastructure.Audit;
using Quartet.Api.Infrastructure.Auth;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.Mail;
using Quartet.Api.Infrastructure.Observability;
using Quartet.Api.Infrastructure.OpenApi;
using Quartet.Api.Infrastructure.Passwords;

namespace Quartet.Api.Features.Auth;

/// <summary>
/// Registration, login and logout for browsers (session cookie + CSRF token), and tokens for API
/// clients. Unknown email, wrong password and disabled account all answer the same 401 after the same
/// amount of hashing work, so the answer tells an attacker nothing about which accounts exist.
/// </summary>
internal static class AuthApi
{
    public static RouteGroupBuilder MapAuthApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/auth").WithTags("Auth").WithProblems(400, 503);
        group.MapPost("/register", Register).WithName("Register").ProducesProblem(409).ProducesProblem(413).ProducesProblem(429);
        group.MapPost("/login", Login).WithName("Login").ProducesProblem(401).ProducesProblem(403).ProducesProblem(413).ProducesProblem(429);
        group.MapPost("/token", Token).WithName("IssueToken").ProducesProblem(401).ProducesProblem(403).ProducesProblem(413).ProducesProblem(429);
        group.MapPost("/refresh", Refresh).WithName("RefreshToken").ProducesProblem(401).ProducesProblem(413);
        group.MapPost("/revoke", Revoke).WithName("RevokeToken").ProducesProblem(413);
        group.MapPost("/logout", Logout).WithName("Logout").RequireAuthorization().ProducesProblem(401).ProducesProblem(403);
        group.MapGet("/me", Me).WithName("GetMe").RequireAuthorization().ProducesProblem(401);
        group.MapGet("/session", Session).WithName("CheckSession").RequireAuthorization().ProducesProblem(401)
            .WithMetadata(new PassiveSessionCheck());
        group.MapGet("/csrf", Csrf).WithName("GetCsrfToken").RequireAuthorization().ProducesProblem(401);
        return group;
    }

    private static async Task<Results<Created<UserResponse>, ValidationProblem, ProblemHttpResult>> Register(
        Credentials body, NpgsqlDataSource db, PasswordHashing passwords, RegistrationThrottle registrations, AuditLog audit, MailOutbox outbox,
        HttpContext context, CancellationToken cancellationToken)
    {
        var email = UserAccounts.NormalizeEmail(body.Email);
        var errors = new FieldErrors();
        if (UserAccounts.EmailError(email) is { } emailError)
        {
            errors.Add("email", emailError);
        }
        if (UserAccounts.PasswordError(body.Password) is { } passwordError)
        {
            errors.Add("password", passwordError);
        }
        if (!errors.IsEmpty)
        {
            return errors.ToProblem();
        }

        if (await registrations.ReserveAsync(context) is { } refused)
        {
            return refused;
        }

        var user = new User(Guid.CreateVersion7(), email, await passwords.HashAsync(body.Password!, cancellationToken), "user", null, DateTime.UtcNow, null);
        if (!await UserAccounts.TryCreateAsync(db, user, cancellationToken))
        {
            return Problems.Conflict("An account with that email already exists.");
        }
        await audit.WriteAsync(AuditEvents.Register, user.Id, user.Id, context, cancellationToken: cancellationToken);
        await AccountMailApi.SendVerificationAsync(outbox, user, context, cancellationToken);
        return TypedResults.Created($"/api/auth/me", new UserResponse(user.Id, user.Email, user.Role));
    }

    private static async Task<Results<Ok<LoginResponse>, ValidationProblem, ProblemHttpResult>> Login(
        Credentials body, LoginService login, SessionStore sessions, HttpContext context, CancellationToken cancellationToken)
    {
        var check = await login.CheckAsync(body, context, cancellationToken);
        if (check.User is not { } user)
        {
            return check.Refusal<Ok<LoginResponse>>();
        }
        // A new id at every login: whatever session the browser held (perhaps one planted on it) ends here.
        if (SessionCookie.Read(context) is { } previous)
        {
            await sessions.EndByCookieAsync(previous);
        }
        // Under the epoch read with the password hash: a disable or password change that committed after that
        // read ends this session too, however the two requests interleave (decision 0014).
        var (cookie, session) = await sessions.CreateAsync(user.Id, user.Email, user.Role, user.AuthEpoch, context.ClientIp(),
            context.Request.Headers.UserAgent);
        SessionCookie.Write(context, cookie);
        return TypedResults.Ok(new LoginResponse(new UserResponse(user.Id, user.Email, user.Role), sessions.CsrfToken(session.Id)));
    }

    private static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> Token(
        Credentials body, LoginService login, AccessTokens access, RefreshTokenStore refresh, AuditLog audit, IOptions<AccountMailOptions> accounts,
        TimeProvider clock, HttpContext context, CancellationToken cancellationToken)
    {
        var check = await login.CheckAsync(body, context, cancellationToken);
        if (check.User is not { } user)
        {
            return check.Refusal<Ok<TokenResponse>>();
        }
        if (user.EmailVerifiedAt is null && DateTime.SpecifyKind(user.CreatedAt, DateTimeKind.Utc) + accounts.Value.UnverifiedGracePeriod <= clock.GetUtcNow().UtcDateTime)
        {
            return Problems.Of(StatusCodes.Status403Forbidden, ProblemTypes.EmailUnverified, "Email address not verified",
                "API tokens need a verified email address. Follow the link in the verification mail, or ask for a new one on your account page.");
        }
        await audit.WriteAsync(AuditEvents.TokenIssued, user.Id, user.Id, context, cancellationToken: cancellationToken);
        var (refreshToken, family) = await refresh.IssueAsync(user.Id, user.AuthEpoch);
        return TypedResults.Ok(new TokenResponse(access.Issue(user.Id, user.Email, user.Role, user.AuthEpoch, family), "Bearer",
            (int)access.Lifetime.TotalSeconds, refreshToken));
    }

    private static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> Refresh(
        RefreshRequest body, RefreshTokenStore refresh, AccessTokens access, NpgsqlDataSource db, AuditLog audit, HttpContext context,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(body.RefreshToken))
        {
            return new FieldErrors().Add("refreshToken", "Refresh token is required.").ToProblem();
        }
        var invalid = Problems.Of(StatusCodes.Status401Unauthorized, ProblemTypes.InvalidToken, "Invalid refresh token",
            "The refresh token is unknown, expired or already used. Log in again.");
        var rotation = await refresh.RotateAsync(body.RefreshToken);
        if (rotation.Outcome == RefreshOutcome.Reused)
        {
            // The script has revoked the family already, in the same step that found the reuse.
            await audit.WriteAsync(AuditEvents.RefreshReused, rotation.UserId, null, context, new { family = rotation.Family }, cancellationToken);
            return invalid;
        }
        if (rotation is not { Outcome: RefreshOutcome.Rotated, Next: { } next })
        {
            return invalid;
        }
        // The epoch is checked again against PostgreSQL, which a disable or password change commits before it
        // reaches Redis; the new tokens carry the family's epoch, so one that raced such a change dies with it.
        var user = await UserAccounts.FindByIdAsync(db, rotation.UserId, cancellationToken);
        if (user is null || user.IsDisabled || user.AuthEpoch > rotation.Epoch)
        {
            await refresh.RevokeFamilyAsync(rotation.UserId, rotation.Family);
            return invalid;
        }
        return TypedResults.Ok(new TokenResponse(access.Issue(user.Id, user.Email, user.Role, rotation.Epoch, rotation.Family), "Bearer",
            (int)access.Lifetime.TotalSeconds, next));
    }

    /// <summary>
    /// An API client's logout: the refresh token's whole family stops working, and so do the access tokens issued
    /// with it. Like RFC 7009, an unknown or spent token is not an error, so the answer says nothing about which
    /// tokens exist.
    /// </summary>
    private static async Task<Results<NoContent, ValidationProblem>> Revoke(
        RefreshRequest body, RefreshTokenStore refresh, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(body.RefreshToken))
        {
            return new FieldErrors().Add("refreshToken", "Refresh token is required.").ToProblem();
        }
        if (await refresh.RevokeByTokenAsync(body.RefreshToken) is { } userId)
        {
            await audit.WriteAsync(AuditEvents.TokenRevoked, userId, userId, context, cancellationToken: cancellationToken);
        }
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> Logout(SessionStore sessions, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        var user = context.User;
        if (user.SessionId() is { } sessionId)
        {
            await sessions.EndAsync(user.Id(), sessionId);
            SessionCookie.Delete(context);
        }
        await audit.WriteAsync(AuditEvents.Logout, user.Id(), user.Id(), context, cancellationToken: cancellationToken);
        return TypedResults.NoContent();
    }

    private static Ok<UserResponse> Me(HttpContext context) =>
        TypedResults.Ok(new UserResponse(context.User.Id(), context.User.Email(), context.User.Role()));

    /// <summary>
    /// Is this session still alive? Answers like /me, but without counting as activity: a page that polls
    /// it (to notice a session ended elsewhere) does not keep an unattended session from idling out.
    /// </summary>
    private static Ok<UserResponse> Session(HttpContext context) => Me(context);

    private static Results<Ok<CsrfResponse>, ProblemHttpResult> Csrf(HttpContext context, SessionStore sessions) =>
        context.User.SessionId() is { } sessionId
            ? TypedResults.Ok(new CsrfResponse(sessions.CsrfToken(sessionId)))
            : Problems.Of(StatusCodes.Status400BadRequest, ProblemTypes.BadRequest, "No session",
                "CSRF tokens belong to cookie sessions; bearer-token requests need none.");
}

/// <summary>What <see cref="LoginService.CheckAsync"/> decided: the user, or the answer that refuses the login.</summary>
internal sealed class LoginCheck
{
    private readonly ValidationProblem? _invalid;
    private readonly ProblemHttpResult? _refused;

    private LoginCheck(User? user, ValidationProblem? invalid, ProblemHttpResult? refused) =>
        (User, _invalid, _refused) = (user, invalid, refused);

    /// <summary>The user whose credentials passed; null when the login is refused.</summary>
    public User? User { get; }

    public static LoginCheck Passed(User user) => new(user, null, null);

    public static LoginCheck Failed(ValidationProblem invalid) => new(null, invalid, null);

    public static LoginCheck Failed(ProblemHttpResult refused) => new(null, null, refused);

    /// <summary>The refusal as the result of a handler whose success is <typeparamref name="TOk"/>.</summary>
    public Results<TOk, ValidationProblem, ProblemHttpResult> Refusal<TOk>() where TOk : IResult =>
        _invalid is not null ? _invalid : _refused ?? throw new InvalidOperationException("The login passed; there is no refusal.");
}

/// <summary>The checks login and token share: validation, throttle, password, disabled account, rehash.</summary>
internal sealed class LoginService(NpgsqlDataSource db, PasswordHashing passwords, LoginThrottle throttle, AuditLog audit)
{
    // Verified against when the email is unknown, so that path costs the same hashing time.
    private readonly Lazy<string> _decoyHash = new(() => passwords.Hash(Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24))));

    public async Task<LoginCheck> CheckAsync(Credentials body, HttpContext context, CancellationToken cancellationToken)
    {
        var email = UserAccounts.NormalizeEmail(body.Email);
        var errors = new FieldErrors();
        if (email.Length == 0)
        {
            errors.Add("email", "Email is required.");
        }
        if (string.IsNullOrEmpty(body.Password))
        {
            errors.Add("password", "Password is required.");
        }
        if (!errors.IsEmpty)
        {
            QuartetMetrics.Login(QuartetMetrics.LoginOutcome.Invalid);
            return LoginCheck.Failed(errors.ToProblem());
        }

        var client = context.ClientKey();
        if (await throttle.ReserveAsync(email, client) is { } wait)
        {
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            // Logged, not stored: refused attempts under attack must not each cost a database write.
            audit.LogOnly(AuditEvents.LoginThrottled, null, null, context);
            QuartetMetrics.Login(QuartetMetrics.LoginOutcome.Throttled);
            QuartetMetrics.ThrottledRequest("login");
            return LoginCheck.Failed(Problems.Of(StatusCodes.Status429TooManyRequests, ProblemTypes.Throttled, "Too many failed logins",
                $"Too many failed logins. Try again in {seconds} seconds."));
        }

        var user = email.Length <= UserAccounts.MaxEmailLength && !email.HasNul() ? await UserAccounts.FindByEmailAsync(db, email, cancellationToken) : null;
        var password = body.Password!.Length <= UserAccounts.MaxPasswordLength ? body.Password : "";
        PasswordVerificationResult verified;
        try
        {
            verified = await passwords.VerifyAsync(user?.PasswordHash ?? _decoyHash.Value, password, cancellationToken);
        }
        catch (PasswordHashingBusyException)
        {
            await throttle.ReleaseAsync(email, client);
            throw;
        }
        if (user is null || user.IsDisabled || verified == PasswordVerificationResult.Failed)
        {
            await audit.WriteAsync(AuditEvents.LoginFailed, user?.Id, null, context,
                new { email, reason = user is null ? "unknown-email" : user.IsDisabled ? "disabled" : "wrong-password" }, cancellationToken);
            QuartetMetrics.Login(user is null ? QuartetMetrics.LoginOutcome.UnknownEmail
                : user.IsDisabled ? QuartetMetrics.LoginOutcome.Disabled : QuartetMetrics.LoginOutcome.WrongPassword);
            return LoginCheck.Failed(Problems.Of(StatusCodes.Status401Unauthorized, ProblemTypes.InvalidCredentials, "Invalid credentials",
                "The email or password is wrong."));
        }

        await throttle.SucceededAsync(email, client);
        if (verified == PasswordVerificationResult.SuccessRehashNeeded)
        {
            await UserAccounts.RehashPasswordAsync(db, user.Id, user.PasswordHash, await passwords.HashAsync(password, cancellationToken), cancellationToken);
        }
        await audit.WriteAsync(AuditEvents.LoginSucceeded, user.Id, user.Id, context, cancellationToken: cancellationToken);
        QuartetMetrics.Login(QuartetMetrics.LoginOutcome.Succeeded);
        return LoginCheck.Passed(user);
    }
}
