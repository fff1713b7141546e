using Npgsql;

namespace Quartet.Stack.Backups;

/// <summary>
/// The backup_status table (db/migrations/0006_backup_status.sql, decision 0022): when the last backup
/// and the last restore drill succeeded, in the database itself, so every replica of the backend in
/// every deployment mode exports the same two times. Written as the superuser or the schema owner;
/// the service's role may only read it.
/// </summary>
public static class BackupStatus
{
    public const string Backup = "backup";
    public const string Drill = "drill";

    public static async Task RecordAsync(string connectionString, string kind, DateTimeOffset succeededAt, string detail, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(
                """
                INSERT INTO backup_status (kind, succeeded_at, detail) VALUES ($1, $2, $3)
                ON CONFLICT (kind) DO UPDATE SET succeeded_at = excluded.succeeded_at, detail = excluded.detail
                """, connection)
            {
                Parameters = { new() { Value = kind }, new() { Value = succeededAt.ToUniversalTime() }, new() { Value = detail } },
            };
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            throw new StackException($"the {kind} succeeded but could not be recorded: the database has no backup_status table yet; run ./quartet migrate");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            throw new StackException($"the {kind} succeeded but could not be recorded in backup_status: {e.Message}");
        }
    }

    /// <summary>
    /// When each kind last succeeded, or null while the database has no backup_status table (a new
    /// stack before its first migrate, or a schema from before 0006).
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, DateTimeOffset>?> TryReadAsync(string connectionString, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadAsync(connectionString, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return null;
        }
    }

    /// <summary>When each kind last succeeded; a kind that never did is absent.</summary>
    public static async Task<IReadOnlyDictionary<string, DateTimeOffset>> ReadAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT kind, succeeded_at FROM backup_status", connection);
        var times = new Dictionary<string, DateTimeOffset>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            times[reader.GetString(0)] = new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero);
        }
        return times;
    }
}
