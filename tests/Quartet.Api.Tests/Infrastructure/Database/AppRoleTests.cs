using System.Net.Http.Json;
using Npgsql;

namespace Quartet.Api.Tests.Infrastructure.Database;

/// <summary>The service connects as a role with data rights only; migrate, as the owner, keeps it so.</summary>
public sealed class AppRoleTests(SharedStack shared) : IAsyncLifetime
{
    private readonly string _role = "app_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _password = "app-password-" + Guid.NewGuid().ToString("N");
    private TestStack _stack = null!;
    private string _database = null!;
    private Dictionary<string, string?> _environment = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = shared.Stack;
        _database = await _stack.CreateDatabaseAsync(migrated: false);
        _environment = BackendProcess.Environment(_stack, _database, new TestSecrets(_stack));
        _environment["Database__Username"] = _role;
        _environment["DB_APP_PASSWORD_FILE"] = await WriteSecretAsync(_password);
        var migrate = await BackendProcess.RunAsync(_environment, null, "migrate");
        Assert.True(migrate.ExitCode == 0, migrate.Error);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async Task<string> WriteSecretAsync(string value)
    {
        var path = Path.Combine(TestPaths.NewDirectory("app-secret"), "db_app_password");
        await File.WriteAllTextAsync(path, value);
        return path;
    }

    private NpgsqlConnection AsApp(string? password = null) => new(new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = _stack.Postgres.Port,
        Database = _database,
        Username = _role,
        Password = password ?? _password,
        Pooling = false,
    }.ConnectionString);

    private async Task<string?> SqlStateAsync(string sql)
    {
        await using var connection = AsApp();
        await connection.OpenAsync();
        try
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
            return null;
        }
        catch (PostgresException e)
        {
            return e.SqlState;
        }
    }

    [Fact]
    public async Task TheAppRoleReadsAndWritesDataButCannotChangeTheSchema()
    {
        Assert.Null(await SqlStateAsync("SELECT count(*) FROM notes"));
        Assert.Null(await SqlStateAsync("INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'role-test@example.com', 'x')"));
        Assert.Null(await SqlStateAsync("DELETE FROM users WHERE email = 'role-test@example.com'"));
        Assert.Null(await SqlStateAsync("SELECT count(*) FROM schema_migrations"));

        Assert.Equal("42501", await SqlStateAsync("CREATE TABLE intruder (id int)"));
        Assert.Equal("42501", await SqlStateAsync("DROP TABLE notes"));
        Assert.Equal("42501", await SqlStateAsync("ALTER TABLE notes ADD COLUMN x int"));
        Assert.Equal("42501", await SqlStateAsync("DELETE FROM schema_migrations"));
        Assert.Equal("42501", await SqlStateAsync("TRUNCATE audit_log"));
    }

    [Fact]
    public async Task TheServiceRunsAsTheAppRole()
    {
        await using var backend = await RunningBackend.StartNewAsync(_environment);
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
        _environment["DB_APP_PASSWORD_FILE"] = await WriteSecretAsync(Rotated);

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
        var environment = new Dictionary<string, string?>(_environment);
        environment.Remove("DB_APP_PASSWORD_FILE");

        var result = await BackendProcess.RunAsync(environment, null);

        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith("Secret 'db_app_password' is missing", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }
}
