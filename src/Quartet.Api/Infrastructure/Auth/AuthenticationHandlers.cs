using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Errors;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>The session cookie, looked up (and its expiry slid) in Redis.</summary>
internal sealed class SessionAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger,
    UrlEncoder encoder, SessionStore sessions) : ProblemAuthenticationHandler(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var cookie = SessionCookie.Read(Context);
        if (cookie is null)
        {
            return AuthenticateResult.NoResult();
        }
        var passive = Context.GetEndpoint()?.Metadata.GetMetadata<PassiveSessionCheck>() is not null;
        var session = await sessions.TouchAsync(cookie, slide: !passive);
        if (session is null)
        {
            return AuthenticateResult.Fail("The session has ended.");
        }
        var principal = CurrentUser.Create(Scheme.Name, session.UserId, session.Email, session.Role, session.Id);
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }
}

/// <summary><c>Authorization: Bearer</c> with an HS256 access token.</summary>
internal sealed class BearerAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger,
    UrlEncoder encoder, AccessTokens tokens) : ProblemAuthenticationHandler(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }
        var (failure, claims) = await tokens.ValidateAsync(header["Bearer ".Length..].Trim());
        if (failure != JwtFailure.None || claims is null || !Guid.TryParse(claims.Subject, out var userId))
        {
            return AuthenticateResult.Fail(failure == JwtFailure.Expired ? "The access token has expired." : "The access token is not valid.");
        }
        var principal = CurrentUser.Create(Scheme.Name, userId, claims.Email, claims.Role, sessionId: null);
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }
}

/// <summary>401 and 403 as problem+json, saying why where it is safe to.</summary>
internal abstract class ProblemAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        await WriteAsync(StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Authentication required",
            result.Failure?.Message ?? "Log in, or send an access token.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteAsync(StatusCodes.Status403Forbidden, ProblemTypes.Forbidden, "Forbidden", "Your account may not do this.");

    private Task WriteAsync(int status, string type, string title, string detail) => Context.WriteProblemAsync(status, type, title, detail);
}

/// <summary>Endpoint metadata: authenticating this request does not count as session activity.</summary>
internal sealed class PassiveSessionCheck;
