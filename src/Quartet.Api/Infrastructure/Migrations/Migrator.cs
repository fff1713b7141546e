using Dapper;
using Npgsql;

namespace Quartet.Api.Infrastructure.Migrations;

internal sealed record AppliedMigration(int Version, string Name, string Checksum, DateTime AppliedAt);

/// <summary>
/// Applies the catalog's migrations in order, each in its own transaction, recorded in
/// <c>schema_migrations</c>. A session-level advisory lock serialises concurrent runs (several replicas,
/// several <c>migrate</c> processes): the second waits, then finds nothing left to do.
/// </summary>
internal sealed partial class Migrator(NpgsqlDataSource dataSource, MigrationCatalog catalog, ILogger<Migrator> logger)
{
    /// <summary>Any fixed number: every Quartet migrator agrees on it.</summary>
    internal const long AdvisoryLockKey = 0x5175_6172_7465_7401;

    private const string CreateTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer     PRIMARY KEY,
            name       text        NOT NULL,
            checksum   text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """;

    /// <summary>Applies what is pending and returns how many files it applied.</summary>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@key)", new { key = AdvisoryLockKey }, cancellationToken: cancellationToken));
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(CreateTable, cancellationToken: cancellationToken));
            var applied = (await ReadAppliedAsync(connection, cancellationToken)).ToDictionary(m => m.Version);
            var count = 0;
            foreach (var migration in catalog.Migrations)
            {
                if (applied.TryGetValue(migration.Version, out var done))
                {
                    EnsureUnchanged(migration, done);
                    continue;
                }
                await ApplyAsync(connection, migration, cancellationToken);
                count++;
            }
            LogDone(logger, count, catalog.Migrations.Count);
            return count;
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@key)", new { key = AdvisoryLockKey }, cancellationToken: CancellationToken.None));
        }
    }

    /// <summary>The files not yet applied, for readiness: a replica never serves on an old schema.</summary>
    public async Task<IReadOnlyList<Migration>> PendingAsync(CancellationToken cancellationToken) =>
        (await CheckAsync(cancellationToken)).Pending;

    /// <summary>Files not yet applied, and applied files whose text has changed since.</summary>
    public async Task<(IReadOnlyList<Migration> Pending, IReadOnlyList<Migration> Changed)> CheckAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT to_regclass('schema_migrations') IS NOT NULL", cancellationToken: cancellationToken));
        if (!exists)
        {
            return (catalog.Migrations, []);
        }
        var applied = (await ReadAppliedAsync(connection, cancellationToken)).ToDictionary(m => m.Version, m => m.Checksum);
        return ([.. catalog.Migrations.Where(m => !applied.ContainsKey(m.Version))],
            [.. catalog.Migrations.Where(m => applied.TryGetValue(m.Version, out var checksum) && checksum != m.Checksum)]);
    }

    private static async Task<IEnumerable<AppliedMigration>> ReadAppliedAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        await connection.QueryAsync<AppliedMigration>(new CommandDefinition(
            "SELECT version AS Version, name AS Name, checksum AS Checksum, applied_at AS AppliedAt FROM schema_migrations ORDER BY version",
            cancellationToken: cancellationToken));

    private static void EnsureUnchanged(Migration migration, AppliedMigration applied)
    {
        if (!string.Equals(migration.Checksum, applied.Checksum, StringComparison.Ordinal))
        {
            throw new MigrationException(
                $"Migration {migration.FileName} was changed after it was applied on {applied.AppliedAt:yyyy-MM-dd HH:mm:ss}Z " +
                $"(checksum {applied.Checksum[..12]}… recorded, {migration.Checksum[..12]}… now). Applied migrations are " +
                "never edited: restore the file and put the change in a new migration.");
        }
    }

    private async Task ApplyAsync(NpgsqlConnection connection, Migration migration, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
#pragma warning disable CA2100 // The text is a migration file shipped with the binary, never user input.
            await using (var command = new NpgsqlCommand(migration.Sql, connection, transaction))
#pragma warning restore CA2100
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (@Version, @Name, @Checksum)",
                migration, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
        }
        catch (PostgresException e)
        {
            throw new MigrationException(
                $"Migration {migration.FileName} failed and was rolled back: {e.SqlState} {e.MessageText}" +
                (e.Position > 0 ? $" (at character {e.Position})" : "") + ".");
        }
        LogApplied(logger, migration.FileName, TimeProvider.System.GetElapsedTime(started).TotalMilliseconds);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {FileName} in {ElapsedMs:F0} ms")]
    private static partial void LogApplied(ILogger logger, string fileName, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schema is current: applied {Applied} of {Total} migrations in this run")]
    private static partial void LogDone(ILogger logger, int applied, int total);
}

/// <summary>A migration run that cannot go on; the message names the file and what to do.</summary>
internal sealed class MigrationException(string message) : Exception(message);
