using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Errors;

namespace Quartet.Api.Infrastructure;

internal sealed class HttpOptions
{
    public const string Section = "Http";

    /// <summary>The largest request body the service reads; larger ones answer 413.</summary>
    [Range(1024, 100 * 1024 * 1024)] public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
}

internal static class HttpLimits
{
    public static IHostApplicationBuilder AddHttpLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<HttpOptions>().BindConfiguration(HttpOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<HttpOptions>>((kestrel, http) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = http.Value.MaxRequestBodyBytes;
        });
        return builder;
    }

    /// <summary>
    /// A declared Content-Length over the limit is refused before anything reads the body, whatever server
    /// hosts the app; Kestrel's own limit (above) also stops chunked bodies that grow past it.
    /// </summary>
    public static WebApplication UseRequestBodyLimit(this WebApplication app)
    {
        var limit = app.Services.GetRequiredService<IOptions<HttpOptions>>().Value.MaxRequestBodyBytes;
        app.Use(async (context, next) =>
        {
            if (context.Request.ContentLength > limit)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status413PayloadTooLarge,
                        Type = ProblemTypes.PayloadTooLarge,
                        Title = "Request body too large",
                        Detail = $"The request body may be at most {limit} bytes.",
                    },
                });
                return;
            }
            await next(context);
        });
        return app;
    }
}
