using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Errors;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>The session cookie, looked up (and its expiry slid) in Redis.</summary>
internal sealed class SessionAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger,
    UrlEncoder encoder, SessionStore sessions) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
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

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        await AuthProblems.UnauthenticatedAsync(Context, result.Failure?.Message ?? AuthProblems.SignInRequired);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => AuthProblems.ForbiddenAsync(Context);
}

/// <summary>401 and 403 as problem+json, the same for the cookie and the bearer token.</summary>
internal static class AuthProblems
{
    public const string SignInRequired = "Log in, or send an access token.";

    public static Task UnauthenticatedAsync(HttpContext context, string detail) =>
        context.WriteProblemAsync(StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Authentication required", detail);

    public static Task ForbiddenAsync(HttpContext context) =>
        context.WriteProblemAsync(StatusCodes.Status403Forbidden, ProblemTypes.Forbidden, "Forbidden", "Your account may not do this.");
}

/// <summary>Endpoint metadata: authenticating this request does not count as session activity.</summary>
internal sealed class PassiveSessionCheck;
