using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.Primitives;
using Quartet.Api.Infrastructure.Errors;

namespace Quartet.Api.Infrastructure.Http;

/// <summary>
/// The host names the service answers (<c>AllowedHosts</c>, separated by <c>;</c> or spaces, so compose can
/// hand it nginx's <c>server_name</c> list as it is; <c>*</c> and <c>*.example.com</c> as ASP.NET Core
/// reads them). Any other Host header gets 421 problem+json, as from nginx: a page on a rebinding
/// domain cannot talk to the API through a name that resolves here. ASP.NET Core's own host filtering
/// reads the same setting but runs before everything, the metrics listener included, which Prometheus
/// scrapes by address; so it is told to pass everything and this filter runs after that listener.
/// </summary>
internal static class HostAllowlist
{
    public const string Setting = "AllowedHosts";

    public static IHostApplicationBuilder AddHostAllowlist(this IHostApplicationBuilder builder)
    {
        builder.Services.PostConfigure<HostFilteringOptions>(options => options.AllowedHosts = ["*"]);
        return builder;
    }

    public static WebApplication UseHostAllowlist(this WebApplication app)
    {
        var allowed = Parse(app.Configuration[Setting]);
        if (allowed.Count == 0 || allowed.Contains("*"))
        {
            return app;
        }
        app.Use((context, next) =>
        {
            var host = context.Request.Host;
            if (host.HasValue && HostString.MatchesAny(new StringSegment(host.Host), allowed))
            {
                return next(context);
            }
            return context.WriteProblemAsync(StatusCodes.Status421MisdirectedRequest, ProblemTypes.UnknownHost, "Unknown host",
                "This server does not answer for that host name.");
        });
        return app;
    }

    internal static List<StringSegment> Parse(string? value) =>
        [.. (value ?? "").Split([';', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(h => new StringSegment(h))];
}
