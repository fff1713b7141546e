using Microsoft.Net.Http.Headers;
using Quartet.Api.Infrastructure.OpenApi;

namespace Quartet.Api.Infrastructure.Http;

/// <summary>
/// Every API answer is about one user or carries a credential (a session cookie, tokens, a CSRF token), so
/// none may be kept by a browser or a shared cache: <c>Cache-Control: no-store</c> (RFC 6749 §5.1, ASVS
/// 8.2.1) and, for HTTP/1.0 caches, <c>Pragma: no-cache</c>. Set once here, when the response starts, so
/// it also covers problem answers, whatever wrote them. ETags and conditional requests are untouched:
/// <c>If-None-Match</c> and <c>If-Match</c> still work for a client that keeps its own copy. The OpenAPI
/// document, the same for everyone, is the one API path a cache may keep.
/// </summary>
internal static class NoStore
{
    public static WebApplication UseNoStoreForApi(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            var path = context.Request.Path;
            if (path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
                && !path.Equals(OpenApiExtensions.Path, StringComparison.OrdinalIgnoreCase))
            {
                context.Response.OnStarting(static state =>
                {
                    var headers = ((HttpResponse)state).Headers;
                    headers[HeaderNames.CacheControl] = "no-store";
                    headers[HeaderNames.Pragma] = "no-cache";
                    return Task.CompletedTask;
                }, context.Response);
            }
            return next(context);
        });
        return app;
    }
}
