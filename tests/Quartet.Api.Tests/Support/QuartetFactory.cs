using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Quartet.Api.Tests.Support;

/// <summary>
/// The real app in-process (<see cref="WebApplicationFactory{TEntryPoint}"/>) against real PostgreSQL and
/// Redis. Production settings by default; the client speaks https so Secure cookies behave as in production.
/// </summary>
internal sealed class QuartetFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly string _environment;
    private readonly TimeProvider? _clock;
    private readonly string? _clientIp;

    // The test runner's standard output is not the app's to replace. An environment variable, because the
    // app reads the setting while its builder is made, before the settings below are added.
    static QuartetFactory() => Environment.SetEnvironmentVariable("Logging__WholeLineOutput", "false");

    public QuartetFactory(TestStack stack, string database, IDictionary<string, string?>? settings = null, string environment = "Production",
        TestSecrets? secrets = null, TimeProvider? clock = null, string? clientIp = null)
    {
        Stack = stack;
        Database = database;
        Secrets = secrets ?? new TestSecrets(stack);
        _clock = clock;
        _clientIp = clientIp;
        _environment = environment;
        _settings = new Dictionary<string, string?>(Secrets.Settings())
        {
            ["Database:Host"] = "127.0.0.1",
            ["Database:Port"] = stack.Postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Database:Name"] = database,
            ["Database:Username"] = PostgresServer.Superuser,
            ["Database:OwnerUsername"] = PostgresServer.Superuser,
            ["Database:SuperUsername"] = PostgresServer.Superuser,
            ["Database:StartupTimeoutSeconds"] = "5",
            ["Redis:Endpoint"] = stack.Redis.Endpoint,
            ["Redis:CacheEndpoint"] = stack.RedisCache.Endpoint,
            // Each database gets its own key space, so instances sharing one test class share Redis data
            // and classes never see each other's keys.
            ["Redis:KeyPrefix"] = $"test:{database}:",
            // Tests write as one user far faster than a person; WriteRateLimitTests sets its own limit.
            ["WriteLimits:RequestsPerWindow"] = "1000000",
            // Tests register many accounts from one address; ThrottleTests sets its own limit.
            ["Throttling:RegistrationsPerIp"] = "100000",
        };
        foreach (var (key, value) in stack.Mail.Settings())
        {
            _settings[key] = value;
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public TestStack Stack { get; }
    public string Database { get; }
    public TestSecrets Secrets { get; }

    public static async Task<QuartetFactory> CreateAsync(TestStack stack, IDictionary<string, string?>? settings = null, TimeProvider? clock = null, string? clientIp = null)
    {
        return new QuartetFactory(stack, await stack.CreateDatabaseAsync(), settings, clock: clock, clientIp: clientIp);
    }

    /// <summary>A second replica: same database, Redis key space and secrets.</summary>
    public QuartetFactory Replica(TimeProvider? clock = null, string? clientIp = null, IDictionary<string, string?>? settings = null) =>
        new(Stack, Database, settings, _environment, Secrets, clock ?? _clock, clientIp ?? _clientIp);

    public HttpClient CreateHttpsClient() => CreateClient(new WebApplicationFactoryClientOptions
    {
        BaseAddress = new Uri("https://localhost"),
        AllowAutoRedirect = false,
        HandleCookies = true,
    });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_environment);
        // Added after appsettings.json, so these win.
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(_settings));
        builder.ConfigureTestServices(services =>
        {
            if (_clock is not null)
            {
                services.AddSingleton(_clock);
            }
            if (_clientIp is not null)
            {
                // The test server has no socket; this stands in for the TCP peer address.
                services.AddSingleton<IStartupFilter>(new PeerAddressFilter(IPAddress.Parse(_clientIp)));
            }
        });
    }
}

internal sealed class PeerAddressFilter(IPAddress address) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            context.Connection.RemoteIpAddress = address;
            return nextMiddleware(context);
        });
        next(app);
    };
}
