using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Quartet.Api.Infrastructure.Migrations;

namespace Quartet.Api.Tests.Support;

/// <summary>
/// One PostgreSQL and one Redis for the whole run, started on first use. The template database is
/// migrated once; each test class clones it (CREATE DATABASE ... TEMPLATE), so classes never share data.
/// Tests that stop a server start their own <see cref="TestStack"/> with <see cref="StartPrivateAsync"/>.
/// </summary>
internal sealed class TestStack(PostgresServer postgres, RedisServer redis) : IAsyncDisposable
{
    private const string Template = "quartet_template";
    private static readonly Lazy<Task<TestStack>> SharedStack = new(() => StartAsync());
    private readonly SemaphoreSlim _createLock = new(1, 1);

    public PostgresServer Postgres { get; } = postgres;
    public RedisServer Redis { get; } = redis;

    public static Task<TestStack> SharedAsync() => SharedStack.Value;

    public static Task<TestStack> StartPrivateAsync() => StartAsync();

    private static async Task<TestStack> StartAsync()
    {
        var postgresTask = PostgresServer.StartNewAsync();
        var redisTask = RedisServer.StartNewAsync();
        var stack = new TestStack(await postgresTask, await redisTask);
        await stack.ExecuteAsync("postgres", $"CREATE DATABASE {Template}");
        await using var template = NpgsqlDataSource.Create(stack.Postgres.ConnectionString(Template, pooling: false));
        await new Migrator(template, MigrationCatalog.FromAssembly(), NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);
        return stack;
    }

    /// <summary>A new database holding the current schema and no data.</summary>
    public async Task<string> CreateDatabaseAsync(bool migrated = true)
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await _createLock.WaitAsync();
        try
        {
            await ExecuteAsync("postgres", migrated ? $"CREATE DATABASE {name} TEMPLATE {Template}" : $"CREATE DATABASE {name}");
        }
        finally
        {
            _createLock.Release();
        }
        return name;
    }

    public async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString(database, pooling: false));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<T?> ScalarAsync<T>(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString(database, pooling: false));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T?)await command.ExecuteScalarAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Postgres.DisposeAsync();
        await Redis.DisposeAsync();
        _createLock.Dispose();
    }
}
