using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Quartet.Api.Infrastructure.Migrations;

namespace Quartet.Testing;

/// <summary>
/// A PostgreSQL and two Redis servers of the tests' own (state and cache, decision 0015), on free
/// loopback ports, tuned for speed over durability, and an SMTP sink that keeps the mails the backend sends. The template database is migrated once; each test gets its own database cloned from
/// it (CREATE DATABASE ... TEMPLATE) and its own Redis key prefix, so tests never share data.
/// </summary>
public sealed class TestStack : IAsyncDisposable
{
    private const string Template = "quartet_template";
    private readonly SemaphoreSlim _createLock = new(1, 1);

    private readonly string _directory;

    private TestStack(string directory, PostgresServer postgres, RedisServer redis, RedisServer redisCache)
    {
        _directory = directory;
        Postgres = postgres;
        Redis = redis;
        RedisCache = redisCache;
    }

    /// <summary>
    /// The key prefix the test user may touch on both Redis servers; each app instance gets its own
    /// prefix under it. The tests' own redis-cli logs in as an administrator.
    /// </summary>
    public const string RedisKeyPrefix = "test:";

    public PostgresServer Postgres { get; }
    public RedisServer Redis { get; }
    public RedisServer RedisCache { get; }
    public SmtpSink Mail { get; } = SmtpSink.Start();

    public static async Task<TestStack> StartAsync(CancellationToken cancellationToken)
    {
        var directory = TestPaths.NewDirectory("stack");
        var postgres = new PostgresServer(Path.Combine(directory, "pg", "data"), Ports.Free(), Secret("pg"), directory, directory)
        {
            Locale = "C",
            Settings = new Dictionary<string, string>
            {
                ["fsync"] = "off",
                ["synchronous_commit"] = "off",
                ["full_page_writes"] = "off",
                ["max_connections"] = "300",
                ["shared_buffers"] = "64MB",
                // Lets a test count the statements the server received.
                ["shared_preload_libraries"] = "pg_stat_statements",
                ["pg_stat_statements.track"] = "top",
            },
        };
        var redisPassword = Secret("redis");
        var redisAdminPassword = Secret("redis-admin");
        var acl = RedisAcl.Load(TestPaths.Repository);
        var redis = new RedisServer(Path.Combine(directory, "redis"), Ports.Free(), redisPassword, directory, directory)
        {
            AclRules = acl, KeyPrefix = RedisKeyPrefix, AdminPassword = redisAdminPassword,
        };
        var redisCache = new RedisServer(Path.Combine(directory, "redis-cache"), Ports.Free(), redisPassword, directory, directory, "redis-cache")
        {
            AclRules = acl, KeyPrefix = RedisKeyPrefix, AdminPassword = redisAdminPassword, IsCache = true, MaxMemory = "64mb",
        };
        await postgres.InitAsync(cancellationToken, durable: false);
        await Task.WhenAll(postgres.StartAsync(cancellationToken), redis.StartAsync(cancellationToken), redisCache.StartAsync(cancellationToken));
        var stack = new TestStack(directory, postgres, redis, redisCache);
        await stack.ExecuteAsync("postgres", $"CREATE DATABASE {Template}");
        await using var template = NpgsqlDataSource.Create(postgres.ConnectionString(Template, pooling: false));
        await new Migrator(template, MigrationCatalog.FromAssembly(), NullLogger<Migrator>.Instance).MigrateAsync(cancellationToken);
        return stack;
    }

    private static string Secret(string prefix) => $"{prefix}-{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))}";

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
        await RedisCache.DisposeAsync();
        await Mail.DisposeAsync();
        _createLock.Dispose();
        // Inside the run rather than at process exit: a cluster with hundreds of test databases takes
        // a few seconds to remove.
        Directory.Delete(_directory, recursive: true);
    }
}
