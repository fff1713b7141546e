using Microsoft.AspNetCore.Http.Json;

namespace Quartet.Api.Infrastructure.Errors;

internal static class ProblemExtensions
{
    /// <summary>Every error is application/problem+json with a stable type and the request id.</summary>
    public static IHostApplicationBuilder AddProblemResponses(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            var status = problem.Status ?? context.HttpContext.Response.StatusCode;
            if (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
            {
                problem.Type = problem is HttpValidationProblemDetails ? ProblemTypes.Validation : ProblemTypes.ForStatus(status);
            }
            problem.Instance ??= context.HttpContext.Request.Path;
            problem.Extensions.Remove("traceId");
            problem.Extensions["requestId"] = context.HttpContext.TraceIdentifier;
        });
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        // Binding failures (malformed JSON, wrong types) throw, so the handler above answers them with a body.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(options => options.SerializerOptions.AllowTrailingCommas = false);
        return builder;
    }

    /// <summary>Answers a request from middleware (outside an endpoint) with a problem+json body.</summary>
    public static Task WriteProblemAsync(this HttpContext context, int status, string type, string title, string detail)
    {
        context.Response.StatusCode = status;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Type = type, Title = title, Detail = detail },
        }).AsTask();
    }

    public static WebApplication UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler();
        // Bodiless 4xx/5xx (unknown route, wrong method) get a problem body too.
        app.UseStatusCodePages();
        return app;
    }
}
