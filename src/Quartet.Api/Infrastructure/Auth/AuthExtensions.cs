using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Audit;
using Quartet.Api.Infrastructure.Passwords;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure.Auth;

internal static class AuthExtensions
{
    public const string AdminPolicy = "admin";
    private const string DefaultScheme = "Quartet";

    /// <summary>Sessions, tokens, throttling, audit, and who the client is behind the proxy.</summary>
    public static IHostApplicationBuilder AddQuartetAuth(this IHostApplicationBuilder builder)
    {
        builder.AddAuthSecrets();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<SessionOptions>().BindConfiguration(SessionOptions.Section)
            .Validate(o => o.IdleTimeout > TimeSpan.Zero && o.AbsoluteTimeout >= o.IdleTimeout,
                "Sessions: IdleTimeout must be positive and AbsoluteTimeout at least as long").ValidateOnStart();
        builder.Services.AddOptions<TokenOptions>().BindConfiguration(TokenOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.AccessTokenLifetime > TimeSpan.Zero && o.RefreshTokenLifetime > o.AccessTokenLifetime,
                "Tokens: lifetimes must be positive, the refresh token's longer").ValidateOnStart();
        builder.Services.AddOptions<ThrottleOptions>().BindConfiguration(ThrottleOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Window > TimeSpan.Zero && o.AccountWindow > TimeSpan.Zero && o.RegistrationWindow > TimeSpan.Zero,
                "Throttling: Window, AccountWindow and RegistrationWindow must be positive").ValidateOnStart();
        builder.Services.AddOptions<PasswordHashingOptions>().BindConfiguration(PasswordHashingOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ProxyOptions>().BindConfiguration(ProxyOptions.Section).ValidateDataAnnotations()
            .Validate(o => ParseNetworks(o.TrustedNetworks) is not null, "Proxy: TrustedNetworks must be CIDR networks separated by commas")
            .ValidateOnStart();
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ProxyOptions>>((forwarded, proxy) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var network in ParseNetworks(proxy.Value.TrustedNetworks) ?? [])
            {
                forwarded.KnownIPNetworks.Add(network);
            }
            // nginx appends the address it saw to X-Forwarded-For; that last entry is the one to believe.
            forwarded.ForwardLimit = 1;
        });

        builder.Services.AddSingleton<PasswordHashing>();
        builder.Services.AddSingleton<AuthEpochs>();
        builder.Services.AddHostedService<AuthEpochWorker>();
        builder.Services.AddSingleton<SessionStore>();
        builder.Services.AddSingleton<AccessTokens>();
        builder.Services.AddSingleton<RefreshTokenStore>();
        builder.Services.AddSingleton<UserSignOut>();
        builder.Services.AddSingleton<LoginThrottle>();
        builder.Services.AddSingleton<RegistrationThrottle>();
        builder.Services.AddSingleton<CurrentPassword>();
        builder.Services.AddSingleton<AuditLog>();

        builder.Services.AddAuthentication(DefaultScheme)
            .AddPolicyScheme(DefaultScheme, "Session cookie or bearer token", options => options.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? CurrentUser.BearerScheme
                    : CurrentUser.SessionScheme)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, SessionAuthenticationHandler>(CurrentUser.SessionScheme, null)
            .AddJwtBearer(CurrentUser.BearerScheme, options =>
            {
                // The principal keeps the token's claim names (sub stays sub), and BearerTokenEvents answers the
                // challenge, so the framework never writes its error_description.
                options.MapInboundClaims = false;
                options.IncludeErrorDetails = false;
                options.EventsType = typeof(BearerTokenEvents);
            });
        builder.Services.AddOptions<JwtBearerOptions>(CurrentUser.BearerScheme)
            .Configure<AccessTokens>((options, tokens) => options.TokenValidationParameters = tokens.ValidationParameters());
        builder.Services.AddSingleton<BearerTokenEvents>();
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireRole("admin"));
        return builder;
    }

    public static WebApplication UseQuartetAuth(this WebApplication app)
    {
        app.UseForwardedHeaders();
        app.UseAuthentication();
        app.UseCsrfProtection();
        app.UseAuthorization();
        return app;
    }

    /// <summary>The client's address as the forwarded-headers middleware settled it.</summary>
    public static string ClientIp(this HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    internal static List<System.Net.IPNetwork>? ParseNetworks(string value)
    {
        var networks = new List<System.Net.IPNetwork>();
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!System.Net.IPNetwork.TryParse(part, out var network))
            {
                return null;
            }
            networks.Add(network);
        }
        return networks;
    }
}
