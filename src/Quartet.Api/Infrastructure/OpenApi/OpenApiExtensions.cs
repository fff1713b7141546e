using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Quartet.Api.Infrastructure.Auth;
using Quartet.Api.Infrastructure.RateLimiting;

namespace Quartet.Api.Infrastructure.OpenApi;

/// <summary>
/// GET /api/openapi.json: every endpoint with its requests, responses and problem responses, and the two
/// ways to authenticate: the session cookie (with X-CSRF-Token on unsafe methods) and a bearer token.
/// The web client is generated from the committed copy, docs/openapi.json; a test keeps the two equal.
/// </summary>
internal static class OpenApiExtensions
{
    public const string Path = "/api/openapi.json";
    private const string Session = "session";
    private const string Csrf = "csrf";
    private const string Bearer = "bearer";

    public static IHostApplicationBuilder AddOpenApiDocument(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Quartet API",
                    Version = "1",
                    Description = "Errors are application/problem+json (RFC 9457) with a stable type urn:quartet:problem:*.",
                };
                document.Servers = [];
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
                {
                    [Session] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey,
                        In = ParameterLocation.Cookie,
                        Name = SessionCookie.SecureName,
                        Description = "The session cookie set by POST /api/auth/login (quartet_session in Development over http).",
                    },
                    [Csrf] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey,
                        In = ParameterLocation.Header,
                        Name = CsrfProtection.HeaderName,
                        Description = "Required with the session cookie on POST, PUT, PATCH and DELETE; from login or GET /api/auth/csrf.",
                    },
                    [Bearer] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.Http,
                        Scheme = "bearer",
                        BearerFormat = "JWT",
                        Description = "An access token from POST /api/auth/token or /api/auth/refresh.",
                    },
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                foreach (var header in metadata.OfType<HeaderParameter>())
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = header.Name,
                        In = ParameterLocation.Header,
                        Required = header.Required,
                        Description = header.Description,
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                    });
                }
                if (!metadata.OfType<IAuthorizeData>().Any() || metadata.OfType<IAllowAnonymous>().Any())
                {
                    DeclareRetryAfter(operation);
                    return Task.CompletedTask;
                }
                var unsafeMethod = context.Description.HttpMethod is not ("GET" or "HEAD");
                var cookie = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Session, context.Document)] = [] };
                if (unsafeMethod)
                {
                    cookie[new OpenApiSecuritySchemeReference(Csrf, context.Document)] = [];
                }
                operation.Security = [cookie, new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, context.Document)] = [] }];
                if (unsafeMethod && WriteRateLimits.IsCountedPath(context.Description.RelativePath))
                {
                    DeclareWriteLimit(operation);
                }
                DeclareRetryAfter(operation);
                return Task.CompletedTask;
            });
        });
        return builder;
    }

    /// <summary>
    /// Every authenticated write can meet the per-user write limit (decision 0015): a 429 problem,
    /// declared here once rather than on each endpoint. Its body is the problem schema the operation's
    /// other problem responses already use.
    /// </summary>
    private static void DeclareWriteLimit(OpenApiOperation operation)
    {
        if (operation.Responses is null || operation.Responses.ContainsKey("429")
            || !operation.Responses.TryGetValue("503", out var unavailable) || unavailable.Content is null)
        {
            return;
        }
        operation.Responses["429"] = new OpenApiResponse { Description = "Too Many Requests", Content = unavailable.Content };
    }

    /// <summary>Every 429 Quartet answers says in Retry-After how many seconds to wait.</summary>
    private static void DeclareRetryAfter(OpenApiOperation operation)
    {
        if (operation.Responses?.TryGetValue("429", out var throttled) is not true || throttled is not OpenApiResponse response)
        {
            return;
        }
        response.Headers ??= new Dictionary<string, IOpenApiHeader>();
        response.Headers["Retry-After"] = new OpenApiHeader
        {
            Description = "Seconds to wait before trying again.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.Integer },
        };
    }

    public static WebApplication MapOpenApiDocument(this WebApplication app)
    {
        app.MapOpenApi(Path);
        return app;
    }

    /// <summary>Documents a request header the handler reads itself (If-Match, Idempotency-Key).</summary>
    public static TBuilder WithHeader<TBuilder>(this TBuilder builder, string name, bool required, string description)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new HeaderParameter(name, required, description));

    /// <summary>The problem responses every endpoint of a group can give, declared once per group.</summary>
    public static RouteGroupBuilder WithProblems(this RouteGroupBuilder group, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            group.ProducesProblem(status);
        }
        return group;
    }
}

internal sealed record HeaderParameter(string Name, bool Required, string Description);
