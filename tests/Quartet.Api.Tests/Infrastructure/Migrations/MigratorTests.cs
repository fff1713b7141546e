using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Quartet.Api.Infrastructure;
using Quartet.Api.Infrastructure.Health;
using Quartet.Api.Infrastructure.Migrations;

namespace Quartet.Api.Tests.Infrastructure.Migrations;

/// <summary>Each test migrates its own empty database from its own folder of files.</summary>
public sealed class MigratorTests(SharedStack shared) : IAsyncLifetime
{
    private readonly string _folder = TestPaths.NewDirectory("migrations");
    private TestStack _stack = null!;
    private string _database = null!;
    private NpgsqlDataSource _dataSource = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = shared.Stack;
        _database = await _stack.CreateDatabaseAsync(migrated: false);
        _dataSource = NpgsqlDataSource.Create(_stack.Postgres.ConnectionString(_database));
    }

    public async ValueTask DisposeAsync() => await _dataSource.DisposeAsync();

    private void Write(string file, string sql) => File.WriteAllText(Path.Combine(_folder, file), sql);

    private Migrator Migrator() => new(_dataSource, MigrationCatalog.FromFolder(_folder), NullLogger<Migrator>.Instance);

    [Fact]
    public async Task FilesAreAppliedInVersionOrderAndRecordedWithTheirChecksums()
    {
        Write("0002_add_column.sql", "ALTER TABLE things ADD COLUMN label text;");
        Write("0001_create.sql", "CREATE TABLE things (id int);");
        Write("0010_insert.sql", "INSERT INTO things (id, label) VALUES (1, 'one');");

        Assert.Equal(3, await Migrator().MigrateAsync(CancellationToken.None));

        Assert.Equal("one", await _stack.ScalarAsync<string>(_database, "SELECT label FROM things"));
        Assert.Equal("1,2,10", await _stack.ScalarAsync<string>(_database, "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"));
        Assert.Equal(MigrationCatalog.Checksum("CREATE TABLE things (id int);"),
            await _stack.ScalarAsync<string>(_database, "SELECT checksum FROM schema_migrations WHERE version = 1"));
        Assert.Equal("create", await _stack.ScalarAsync<string>(_database, "SELECT name FROM schema_migrations WHERE version = 1"));
    }

    [Fact]
    public async Task RunningAgainIsANoOp()
    {
        Write("0001_create.sql", "CREATE TABLE things (id int);");
        await Migrator().MigrateAsync(CancellationToken.None);
        var appliedAt = await _stack.ScalarAsync<DateTime>(_database, "SELECT applied_at FROM schema_migrations");

        Assert.Equal(0, await Migrator().MigrateAsync(CancellationToken.None));
        Assert.Equal(appliedAt, await _stack.ScalarAsync<DateTime>(_database, "SELECT applied_at FROM schema_migrations"));
    }

    [Fact]
    public async Task AFailingFileIsRolledBackWholeAndNamedAndTheOnesBeforeItStay()
    {
        Write("0001_create.sql", "CREATE TABLE things (id int);");
        Write("0002_broken.sql", "CREATE TABLE half (id int); INSERT INTO nowhere VALUES (1);");

        var error = await Assert.ThrowsAsync<MigrationException>(() => Migrator().MigrateAsync(CancellationToken.None));

        Assert.StartsWith("Migration 0002_broken.sql failed and was rolled back: 42P01", error.Message, StringComparison.Ordinal);
        Assert.Equal(1L, await _stack.ScalarAsync<long>(_database, "SELECT count(*) FROM schema_migrations"));
        Assert.False(await _stack.ScalarAsync<bool>(_database, "SELECT to_regclass('half') IS NOT NULL"));
    }

    [Fact]
    public async Task AnAppliedFileWhoseTextChangedStopsTheRunNamingTheFile()
    {
        Write("0001_create.sql", "CREATE TABLE things (id int);");
        await Migrator().MigrateAsync(CancellationToken.None);
        Write("0001_create.sql", "CREATE TABLE things (id bigint);");
        Write("0002_more.sql", "CREATE TABLE more (id int);");

        var error = await Assert.ThrowsAsync<MigrationException>(() => Migrator().MigrateAsync(CancellationToken.None));

        Assert.StartsWith("Migration 0001_create.sql was changed after it was applied", error.Message, StringComparison.Ordinal);
        Assert.False(await _stack.ScalarAsync<bool>(_database, "SELECT to_regclass('more') IS NOT NULL"));
    }

    [Fact]
    public async Task LineEndingsAloneDoNotCountAsAChange()
    {
        Write("0001_create.sql", "CREATE TABLE things (id int);\nCREATE TABLE others (id int);\n");
        await Migrator().MigrateAsync(CancellationToken.None);
        Write("0001_create.sql", "CREATE TABLE things (id int);\r\nCREATE TABLE others (id int);\r\n");

        Assert.Equal(0, await Migrator().MigrateAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("1_short.sql")]
    [InlineData("0001-dash.sql")]
    [InlineData("0001_Upper.sql")]
    public void AMisnamedFileIsRefusedByName(string file)
    {
        Write(file, "SELECT 1;");

        var error = Assert.Throws<StartupException>(() => MigrationCatalog.FromFolder(_folder));

        Assert.Contains(file, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoFilesWithOneVersionAreRefused()
    {
        Write("0001_a.sql", "SELECT 1;");
        Write("0001_b.sql", "SELECT 1;");

        var error = Assert.Throws<StartupException>(() => MigrationCatalog.FromFolder(_folder));

        Assert.Contains("share version 0001", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FilesNewerThanTheBinaryLeaveItCurrentAndReadyAsDuringARollingUpgrade()
    {
        // The previous release keeps serving after migrate has applied the next release's files (decision 0029).
        var previous = TestPaths.NewDirectory("previous-migrations");
        File.WriteAllText(Path.Combine(previous, "0001_create.sql"), "CREATE TABLE things (id int);");
        Write("0001_create.sql", "CREATE TABLE things (id int);");
        Write("0002_expand.sql", "ALTER TABLE things ADD COLUMN label text;");
        await Migrator().MigrateAsync(CancellationToken.None);
        var older = new Migrator(_dataSource, MigrationCatalog.FromFolder(previous), NullLogger<Migrator>.Instance);

        var (pending, changed) = await older.CheckAsync(CancellationToken.None);
        var health = await new SchemaHealthCheck(older, MigrationCatalog.FromFolder(previous))
            .CheckHealthAsync(new HealthCheckContext(), CancellationToken.None);

        Assert.Empty(pending);
        Assert.Empty(changed);
        Assert.Equal(HealthStatus.Healthy, health.Status);
        Assert.Equal("current", health.Description);
        Assert.Equal(0, await older.MigrateAsync(CancellationToken.None));
        Assert.Equal(2L, await _stack.ScalarAsync<long>(_database, "SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task TheMigrationsBuiltIntoTheBinaryApplyToAnEmptyDatabaseAndLeaveNothingPending()
    {
        var migrator = new Migrator(_dataSource, MigrationCatalog.FromAssembly(), NullLogger<Migrator>.Instance);
        Assert.NotEmpty(await migrator.PendingAsync(CancellationToken.None));

        Assert.Equal(MigrationCatalog.FromAssembly().Migrations.Count, await migrator.MigrateAsync(CancellationToken.None));

        Assert.Empty(await migrator.PendingAsync(CancellationToken.None));
        Assert.Equal(Directory.GetFiles(Path.Combine(TestPaths.Repository, "db", "migrations"), "*.sql").Length,
            MigrationCatalog.FromAssembly().Migrations.Count);
    }

    [Fact]
    public async Task ThreeMigrateProcessesStartedAtOnceApplyEachFileExactlyOnce()
    {
        Write("0001_create.sql", "CREATE TABLE runs (id serial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp());");
        // Slow files widen the window in which the three runs overlap.
        Write("0002_first.sql", "SELECT pg_sleep(0.5); INSERT INTO runs DEFAULT VALUES;");
        Write("0003_second.sql", "SELECT pg_sleep(0.5); INSERT INTO runs DEFAULT VALUES;");
        var environment = BackendProcess.Environment(_stack, _database, new TestSecrets(_stack));
        environment["Database__MigrationsPath"] = _folder;

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => BackendProcess.RunAsync(environment, null, "migrate")));

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Error));
        Assert.Equal(2L, await _stack.ScalarAsync<long>(_database, "SELECT count(*) FROM runs"));
        Assert.Equal(3L, await _stack.ScalarAsync<long>(_database, "SELECT count(*) FROM schema_migrations"));
        // Exactly one process reports having applied the files; the others found the schema current.
        Assert.Single(results, r => r.Output.Contains("Applied migration 0002_first.sql", StringComparison.Ordinal));
        Assert.Equal(2, results.Count(r => r.Output.Contains("applied 0 of 3", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task TheMigrateCommandStopsWithOneLineWhenAFileChanged()
    {
        Write("0001_create.sql", "CREATE TABLE things (id int);");
        var environment = BackendProcess.Environment(_stack, _database, new TestSecrets(_stack));
        environment["Database__MigrationsPath"] = _folder;
        Assert.Equal(0, (await BackendProcess.RunAsync(environment, null, "migrate")).ExitCode);
        Write("0001_create.sql", "CREATE TABLE things (id bigint);");

        var result = await BackendProcess.RunAsync(environment, null, "migrate");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("Migration 0001_create.sql was changed", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }
}
