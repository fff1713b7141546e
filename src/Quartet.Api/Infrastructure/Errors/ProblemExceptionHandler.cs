using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Quartet.Api.Infrastructure.Errors;

/// <summary>
/// Turns exceptions into problem+json. A request the client got wrong (malformed JSON, a body too large,
/// a parameter of the wrong type) is a 4xx that says what was wrong; anything else is a 500 that says
/// nothing about the server's insides outside Development.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, IHostEnvironment environment, ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => new ProblemDetails
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Title = "Request body too large",
                Detail = "The request body is larger than this endpoint accepts.",
            },
            BadHttpRequestException bad => new ProblemDetails
            {
                Status = bad.StatusCode,
                Title = "Malformed request",
                Detail = Describe(bad),
            },
            DependencyUnavailableException unavailable => new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Type = ProblemTypes.Unavailable,
                Title = "Service temporarily unavailable",
                Detail = $"{unavailable.Dependency} is unavailable; try again shortly.",
            },
            Passwords.PasswordHashingBusyException => new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Type = ProblemTypes.Busy,
                Title = "Server busy",
                Detail = "Too many password checks are running; try again in a second.",
            },
            NpgsqlException { IsTransient: true } or NpgsqlException { InnerException: System.Net.Sockets.SocketException or TimeoutException } => new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Type = ProblemTypes.Unavailable,
                Title = "Service temporarily unavailable",
                Detail = "PostgreSQL is unavailable; try again shortly.",
            },
            _ => null,
        };
        if (exception is Passwords.PasswordHashingBusyException)
        {
            // A hashing slot frees within a fraction of a second; not a dependency outage, so not logged as one.
            httpContext.Response.Headers.RetryAfter = "1";
        }
        else if (problem?.Status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "5";
            LogUnavailable(logger, exception.GetType().Name, httpContext.Request.Method, httpContext.Request.Path);
        }

        if (problem is null)
        {
            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
            problem = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "Internal server error",
                Detail = environment.IsDevelopment() ? exception.ToString() : "The server could not complete the request.",
            };
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    private static string Describe(BadHttpRequestException bad) => bad.InnerException switch
    {
        JsonException json => "The request body is not valid JSON" + (json.Path is { Length: > 1 } path ? $" (at {path})." : "."),
        _ => bad.Message,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dependency unavailable ({Kind}) in {Method} {Path}")]
    private static partial void LogUnavailable(ILogger logger, string kind, string method, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
