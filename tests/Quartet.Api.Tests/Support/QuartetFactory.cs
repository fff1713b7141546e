using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace Quartet.Api.Tests.Support;

/// <summary>
/// The real app in-process (<see cref="WebApplicationFactory{TEntryPoint}"/>) against real PostgreSQL and
/// Redis. Production settings by default; the client speaks https so Secure cookies behave as in production.
/// </summary>
internal sealed class QuartetFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly string _environment;

    public QuartetFactory(TestStack stack, string database, IDictionary<string, string?>? settings = null, string environment = "Production")
    {
        Stack = stack;
        Database = database;
        Secrets = new TestSecrets(stack);
        _environment = environment;
        _settings = new Dictionary<string, string?>(Secrets.Settings())
        {
            ["Database:Host"] = "127.0.0.1",
            ["Database:Port"] = stack.Postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Database:Name"] = database,
            ["Database:Username"] = PostgresServer.Superuser,
            ["Database:StartupTimeoutSeconds"] = "5",
            ["Redis:Endpoint"] = stack.Redis.Endpoint,
            // Each database gets its own key space, so instances sharing one test class share Redis data
            // and classes never see each other's keys.
            ["Redis:KeyPrefix"] = $"test:{database}:",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public TestStack Stack { get; }
    public string Database { get; }
    public TestSecrets Secrets { get; }

    public static async Task<QuartetFactory> CreateAsync(IDictionary<string, string?>? settings = null)
    {
        var stack = await TestStack.SharedAsync();
        return new QuartetFactory(stack, await stack.CreateDatabaseAsync(), settings);
    }

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
    }
}
