using Quartet.Api.Infrastructure.Errors;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>
/// Every unsafe request authenticated by the session cookie must carry X-CSRF-Token with that session's
/// token; otherwise 403 and the endpoint never runs. Requests authenticated by a bearer token are exempt:
/// a browser never attaches one by itself, so a forged cross-site request cannot carry it.
/// </summary>
internal static class CsrfProtection
{
    public const string HeaderName = "X-CSRF-Token";

    public static WebApplication UseCsrfProtection(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var method = context.Request.Method;
            var unsafeMethod = HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method);
            if (unsafeMethod && context.User.SessionId() is { } sessionId
                && !context.RequestServices.GetRequiredService<SessionStore>().IsValidCsrfToken(sessionId, context.Request.Headers[HeaderName]))
            {
                await context.WriteProblemAsync(StatusCodes.Status403Forbidden, ProblemTypes.Csrf, "CSRF token missing or invalid",
                    $"Send the {HeaderName} header with the token from GET /api/auth/csrf.");
                return;
            }
            await next(context);
        });
        return app;
    }
}
