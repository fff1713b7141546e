using System.Net.Http.Json;
using Npgsql;

namespace Quartet.Api.Tests.Infrastructure.Database;

/// <summary>
/// The service connects as a role with data rights only; migrate bootstraps it as the superuser and keeps
/// its grants as the schema owner, a role of its own (decision 0020).
/// </summary>
public sealed class AppRoleTests(SharedStack shared) : IAsyncLifetime
{
    private readonly string _role = "app_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _password = "app-password-" + Guid.NewGuid().ToString("N");
    private readonly string _owner = "owner_" + Guid.NewGuid().ToString("N")[..12];
    private TestStack _stack = null!;
    private string _database = null!;
    private Dictionary<string, string?> _environment = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = shared.Stack;
        _database = await _stack.CreateDatabaseAsync(migrated: false);
        _environment = BackendProcess.Environment(_stack, _database, new TestSecrets(_stack));
        _environment["Database__Username"] = _role;
        _environment["Database__OwnerUsername"] = _owner;
        _environment["DB_APP_PASSWORD_FILE"] = await WriteSecretAsync("db_app_password", _password);
        _environment["DB_OWNER_PASSWORD_FILE"] = await WriteSecretAsync("db_owner_password", "owner-password-" + Guid.NewGuid().ToString("N"));
        var migrate = await BackendProcess.RunAsync(_environment, null, "migrate");
        Assert.True(migrate.ExitCode == 0, migrate.Error);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    internal static async Task<string> WriteSecretAsync(string name, string value)
    {
        var path = Path.Combine(TestPaths.NewDirectory("db-secret"), name);
        await File.WriteAllTextAsync(path, value);
        return path;
    }

    /// <summary>What serve is given: its own password and no other database secret.</summary>
    private Dictionary<string, string?> ServeEnvironment()
    {
        var environment = new Dictionary<string, string?>(_environment);
        environment.Remove("DB_PASSWORD_FILE");
        environment.Remove("DB_OWNER_PASSWORD_FILE");
        return environment;
    }

    private NpgsqlConnection AsApp(string? password = null) => RoleSql.Connect(_stack.Postgres.Port, _database, _role, password ?? _password);

    private Task<string?> SqlStateAsync(string sql) => RoleSql.SqlStateAsync(AsApp(), sql);

    [Fact]
    public async Task TheAppRoleReadsAndWritesDataButCannotChangeTheSchema()
    {
        Assert.Null(await SqlStateAsync("SELECT count(*) FROM notes"));
        Assert.Null(await SqlStateAsync("INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'role-test@example.com', 'x')"));
        Assert.Null(await SqlStateAsync("DELETE FROM users WHERE email = 'role-test@example.com'"));
        Assert.Null(await SqlStateAsync("SELECT count(*) FROM schema_migrations"));
        Assert.Null(await SqlStateAsync("SELECT count(*) FROM backup_status"));

        Assert.Equal("42501", await SqlStateAsync("CREATE TABLE intruder (id int)"));
        Assert.Equal("42501", await SqlStateAsync("DROP TABLE notes"));
        Assert.Equal("42501", await SqlStateAsync("ALTER TABLE notes ADD COLUMN x int"));
        Assert.Equal("42501", await SqlStateAsync("DELETE FROM schema_migrations"));
        // Only the backup tools record a backup's success; a flaw in the service cannot fake one.
        Assert.Equal("42501", await SqlStateAsync("INSERT INTO backup_status (kind, succeeded_at) VALUES ('backup', now())"));
        Assert.Equal("42501", await SqlStateAsync("UPDATE backup_status SET succeeded_at = now()"));
        Assert.Equal("42501", await SqlStateAsync("TRUNCATE audit_log"));
    }

    [Fact]
    public async Task TheServiceRunsAsTheAppRoleWithoutTheSuperusersOrTheOwnersPassword()
    {
        await using var backend = await RunningBackend.StartNewAsync(ServeEnvironment());
        using var client = new HttpClient { BaseAddress = backend.BaseAddress };

        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        using var register = await client.PostAsJsonAsync("/api/auth/register", new { email = ApiClient.NewEmail(), password = ApiClient.StrongPassword });
        Assert.Equal(System.Net.HttpStatusCode.Created, register.StatusCode);
        Assert.Equal(_role, await _stack.ScalarAsync<string>(_database,
            $"SELECT usename FROM pg_stat_activity WHERE datname = '{_database}' AND application_name = 'quartet' LIMIT 1"));
    }

    [Fact]
    public async Task MigrateAgainWithANewPasswordRotatesIt()
    {
        const string Rotated = "a-rotated-app-password-0123456789";
        _environment["DB_APP_PASSWORD_FILE"] = await WriteSecretAsync("db_app_password", Rotated);

        Assert.Equal(0, (await BackendProcess.RunAsync(_environment, null, "migrate")).ExitCode);

        await using (var rotated = AsApp(Rotated))
        {
            await rotated.OpenAsync();
        }
        await using var old = AsApp();
        Assert.Equal("28P01", (await Assert.ThrowsAsync<PostgresException>(() => old.OpenAsync())).SqlState);
    }

    [Fact]
    public async Task TheServiceWithoutItsPasswordStopsNamingDbAppPassword()
    {
        var environment = ServeEnvironment();
        environment.Remove("DB_APP_PASSWORD_FILE");

        var result = await BackendProcess.RunAsync(environment, null);

        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith("Secret 'db_app_password' is missing", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }
}
