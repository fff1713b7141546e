using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Quartet.Api.Infrastructure.Auth;

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
                    return Task.CompletedTask;
                }
                var unsafeMethod = context.Description.HttpMethod is not ("GET" or "HEAD");
                var cookie = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Session, context.Document)] = [] };
                if (unsafeMethod)
                {
                    cookie[new OpenApiSecuritySchemeReference(Csrf, context.Document)] = [];
                }
                operation.Security = [cookie, new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, context.Document)] = [] }];
                return Task.CompletedTask;
            });
        });
        return builder;
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
