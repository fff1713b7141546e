using Npgsql;

namespace Quartet.Api.Tests.Infrastructure.Database;

/// <summary>
/// The schema's owner is a plain login role, not the cluster's superuser: migrate bootstraps it as the
/// superuser, hands it whatever the superuser still owns, then migrates as it (decision 0020).
/// </summary>
public sealed class SchemaOwnerTests(SharedStack shared) : IAsyncLifetime
{
    private readonly string _owner = "owner_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _ownerPassword = "owner-password-" + Guid.NewGuid().ToString("N");
    private readonly string _role = "app_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _appPassword = "app-password-" + Guid.NewGuid().ToString("N");
    private TestStack _stack = null!;
    private string _database = null!;
    private Dictionary<string, string?> _environment = null!;

    /// <summary>Objects in schema public (tables, sequences, views, routines) that the owner does not own.</summary>
    private string NotOwnedByTheOwner => $"""
        SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'S', 'v', 'm')
                   AND relowner <> '{_owner}'::regrole)
             + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proowner <> '{_owner}'::regrole)
        """;

    public async ValueTask InitializeAsync()
    {
        _stack = shared.Stack;
        _database = await _stack.CreateDatabaseAsync(migrated: false);
        _environment = BackendProcess.Environment(_stack, _database, new TestSecrets(_stack));
        _environment["Database__Username"] = _role;
        _environment["Database__OwnerUsername"] = _owner;
        _environment["DB_APP_PASSWORD_FILE"] = await AppRoleTests.WriteSecretAsync("db_app_password", _appPassword);
        _environment["DB_OWNER_PASSWORD_FILE"] = await AppRoleTests.WriteSecretAsync("db_owner_password", _ownerPassword);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task MigrateAsync(Dictionary<string, string?>? environment = null)
    {
        var result = await BackendProcess.RunAsync(environment ?? _environment, null, "migrate");
        Assert.True(result.ExitCode == 0, result.Error);
    }

    private NpgsqlConnection As(string role, string password) => RoleSql.Connect(_stack.Postgres.Port, _database, role, password);

    private Task<string?> SqlStateAsync(string role, string password, string sql) => RoleSql.SqlStateAsync(As(role, password), sql);

    [Fact]
    public async Task AfterMigrateTheOwnerOwnsEverythingInPublicAndHasNoClusterRights()
    {
        await MigrateAsync();

        Assert.Equal(0L, await _stack.ScalarAsync<long>(_database, NotOwnedByTheOwner));
        Assert.True(await _stack.ScalarAsync<long>(_database,
            $"SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relowner = '{_owner}'::regrole") >= 5);
        Assert.Equal(_owner, await _stack.ScalarAsync<string>(_database, $"SELECT datdba::regrole::text FROM pg_database WHERE datname = '{_database}'"));
        Assert.Equal("f f f f f", await _stack.ScalarAsync<string>(_database,
            $"SELECT concat_ws(' ', rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls) FROM pg_roles WHERE rolname = '{_owner}'"));
    }

    [Fact]
    public async Task MigrateHandsADatabaseTheSuperuserOwnsToTheOwner()
    {
        // The layout before 0020: the superuser owned the schema and migrated it.
        var before = new Dictionary<string, string?>(_environment) { ["Database__OwnerUsername"] = PostgresServer.Superuser };
        before.Remove("DB_OWNER_PASSWORD_FILE");
        await MigrateAsync(before);
        Assert.Equal(PostgresServer.Superuser, await _stack.ScalarAsync<string>(_database,
            "SELECT relowner::regrole::text FROM pg_class WHERE oid = 'schema_migrations'::regclass"));
        Assert.True(await _stack.ScalarAsync<long>(_database, NotOwnedByTheOwner.Replace($"'{_owner}'::regrole", "0", StringComparison.Ordinal)) > 5);

        await MigrateAsync();

        Assert.Equal(0L, await _stack.ScalarAsync<long>(_database, NotOwnedByTheOwner));
        Assert.Equal(_owner, await _stack.ScalarAsync<string>(_database,
            "SELECT relowner::regrole::text FROM pg_class WHERE oid = 'schema_migrations'::regclass"));
        Assert.Equal(_owner, await _stack.ScalarAsync<string>(_database,
            "SELECT proowner::regrole::text FROM pg_proc WHERE proname = 'queue_auth_epoch'"));
        // The service's data rights came along with the tables, and the owner can change what it owns.
        Assert.Null(await SqlStateAsync(_role, _appPassword, "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'owner-test@example.com', 'x')"));
        Assert.Equal("42501", await SqlStateAsync(_role, _appPassword, "ALTER TABLE notes ADD COLUMN x int"));
        Assert.Null(await SqlStateAsync(_owner, _ownerPassword, "ALTER TABLE notes ADD COLUMN x int"));
    }

    [Fact]
    public async Task TheOwnerChangesTheSchemaButNothingBeyondIt()
    {
        await MigrateAsync();

        Assert.Null(await SqlStateAsync(_owner, _ownerPassword, "CREATE TABLE owner_made (id int)"));
        Assert.Equal("42501", await SqlStateAsync(_owner, _ownerPassword, "CREATE ROLE intruder LOGIN"));
        Assert.Equal("42501", await SqlStateAsync(_owner, _ownerPassword, $"ALTER ROLE {_role} PASSWORD 'chosen-by-the-owner'"));
        Assert.Equal("42501", await SqlStateAsync(_owner, _ownerPassword, "CREATE DATABASE intruder"));
        Assert.Equal("42501", await SqlStateAsync(_owner, _ownerPassword, "COPY (SELECT 1) TO PROGRAM 'true'"));
        Assert.Equal("42501", await SqlStateAsync(_owner, _ownerPassword, "SELECT pg_read_file('postgresql.conf')"));
    }

    [Fact]
    public async Task MigrateWithoutTheOwnersPasswordStopsWithOneLineNamingIt()
    {
        var environment = new Dictionary<string, string?>(_environment);
        environment.Remove("DB_OWNER_PASSWORD_FILE");

        var result = await BackendProcess.RunAsync(environment, null, "migrate");

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("Secret 'db_owner_password' is missing", line, StringComparison.Ordinal);
        Assert.Contains("generate-secrets.sh", line, StringComparison.Ordinal);
        Assert.True(await _stack.ScalarAsync<bool>(_database, "SELECT to_regclass('schema_migrations') IS NULL"));
    }

    [Fact]
    public async Task MigrateRefusesToDemoteASuperuserNamedAsTheOwner()
    {
        var superuser = "super_" + Guid.NewGuid().ToString("N")[..12];
        await _stack.ExecuteAsync("postgres", $"CREATE ROLE {superuser} SUPERUSER");
        var environment = new Dictionary<string, string?>(_environment) { ["Database__OwnerUsername"] = superuser };

        var result = await BackendProcess.RunAsync(environment, null, "migrate");

        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith($"Database role {superuser} (Database__OwnerUsername) is a superuser", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.True(await _stack.ScalarAsync<bool>("postgres", $"SELECT rolsuper FROM pg_roles WHERE rolname = '{superuser}'"));
        await _stack.ExecuteAsync("postgres", $"DROP ROLE {superuser}");
    }

    [Fact]
    public async Task TheServiceCannotBeConfiguredToConnectAsTheSuperuser()
    {
        var environment = new Dictionary<string, string?>(_environment) { ["Database__Username"] = PostgresServer.Superuser };

        var result = await BackendProcess.RunAsync(environment, null, "migrate");

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("Invalid configuration: ", line, StringComparison.Ordinal);
        Assert.Contains("is the superuser (Database:SuperUsername)", line, StringComparison.Ordinal);
    }
}
