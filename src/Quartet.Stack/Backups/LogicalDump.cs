using System.Diagnostics;
using Npgsql;

namespace Quartet.Stack.Backups;

/// <summary>
/// How the PostgreSQL client programs and Npgsql reach one server as its superuser: native mode over
/// TCP with the password in the environment, the compose backup container over the Unix socket.
/// </summary>
public sealed record PostgresAccess(Func<string, string> Program, IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string?> Environment, Func<string, string> ConnectionString)
{
    public static PostgresAccess Tcp(PostgresServer server) => new(
        Tools.Postgres,
        ["-h", "127.0.0.1", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", PostgresServer.Superuser],
        new Dictionary<string, string?> { ["PGPASSWORD"] = server.Password },
        database => server.ConnectionString(database, pooling: false));

    /// <summary>The image's own programs (on its PATH), through the socket in <paramref name="directory"/>; no password.</summary>
    public static PostgresAccess Socket(string directory) => new(
        program => Tools.Find(null, program, $"{program} (the PostgreSQL image's)"),
        ["-h", directory, "-U", PostgresServer.Superuser],
        new Dictionary<string, string?>(),
        database => new NpgsqlConnectionStringBuilder { Host = directory, Username = PostgresServer.Superuser, Database = database, Pooling = false, Timeout = 10 }.ConnectionString);

    public Command Run(string program, IEnumerable<string> arguments) =>
        new(Program(program), [.. Arguments, .. arguments]) { Environment = new Dictionary<string, string?>(Environment) };
}

/// <summary>
/// The logical part of a backup set (<c>pg_dump -Fc</c>, for another major version) and the checks both
/// modes run on it: its rows counted in the very snapshot it was taken from, its table of contents, and,
/// in a drill, that it loads and holds those rows.
/// </summary>
public static class LogicalDump
{
    /// <summary>
    /// pg_dump from a snapshot exported by a transaction that counts every table's rows in that same
    /// snapshot, so the counts are exactly the dump's.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, long>> TakeAsync(PostgresAccess access, string database, string path, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(access.ConnectionString(database));
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        await using var export = new NpgsqlCommand("SELECT pg_export_snapshot()", connection, transaction);
        var snapshot = (string)(await export.ExecuteScalarAsync(cancellationToken))!;
        var rows = await CountRowsAsync(connection, transaction, cancellationToken);
        await CommandRunner.RunCheckedAsync(access.Run("pg_dump", ["-Fc", "--snapshot=" + snapshot, "-f", path, database]), cancellationToken, timeout: TimeSpan.FromHours(6));
        await transaction.CommitAsync(cancellationToken);
        var listing = await CommandRunner.RunCheckedAsync(new Command(access.Program("pg_restore"), ["--list", path]), cancellationToken, timeout: TimeSpan.FromMinutes(30));
        return listing.Output.Contains("TABLE DATA", StringComparison.Ordinal) ? rows : throw new StackException("the logical dump lists no table data");
    }

    /// <summary>Rows per table of the public schema, as the connection's transaction sees them.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100", Justification = "Table names come from the catalogue, quoted.")]
    public static async Task<IReadOnlyDictionary<string, long>> CountRowsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", connection, transaction))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add(reader.GetString(0));
            }
        }
        var rows = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            await using var count = new NpgsqlCommand($"SELECT count(*) FROM public.\"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection, transaction);
            rows[table] = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }
        return rows;
    }

    /// <summary>A drill's check: the set's dump, loaded into a fresh database of a throwaway server, holds the rows its manifest counted.</summary>
    /// <param name="throwaway">The throwaway server.</param>
    /// <param name="set">The set whose manifest counted the rows.</param>
    /// <param name="database">The database to load the dump into (made anew).</param>
    /// <param name="say">Where the result line goes.</param>
    /// <param name="cancellationToken">Stops the load.</param>
    /// <param name="dump">The dump to load, when not the set's own quartet.dump (a decrypted copy).</param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100", Justification = "The database name is a constant of the caller's, quoted.")]
    public static async Task CheckLoadsAsync(PostgresAccess throwaway, BackupSetInfo set, string database, Action<string> say, CancellationToken cancellationToken,
        string? dump = null)
    {
        await using (var admin = new NpgsqlConnection(throwaway.ConnectionString("postgres")))
        {
            await admin.OpenAsync(cancellationToken);
            var quoted = $"\"{database.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {quoted}", admin);
            await drop.ExecuteNonQueryAsync(cancellationToken);
            await using var create = new NpgsqlCommand($"CREATE DATABASE {quoted}", admin);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        await CommandRunner.RunCheckedAsync(throwaway.Run("pg_restore", ["--exit-on-error", "-d", database, dump ?? Path.Combine(set.Directory, "quartet.dump")]),
            cancellationToken, timeout: TimeSpan.FromHours(6));
        if (set.Manifest.Rows is not { } expected)
        {
            say($"drill: the dump of backup {set.Manifest.Id} loads; its manifest counts no rows (taken by an older version), so they are not compared");
            return;
        }
        await using var loaded = new NpgsqlConnection(throwaway.ConnectionString(database));
        await loaded.OpenAsync(cancellationToken);
        var rows = await CountRowsAsync(loaded, null, cancellationToken);
        var differences = expected.Keys.Union(rows.Keys).Order(StringComparer.Ordinal)
            .Where(t => expected.GetValueOrDefault(t, -1) != rows.GetValueOrDefault(t, -1))
            .Select(t => $"{t}: {rows.GetValueOrDefault(t, -1)} rows, the manifest says {expected.GetValueOrDefault(t, -1)}")
            .ToList();
        if (differences.Count > 0)
        {
            throw new StackException($"the dump of backup {set.Manifest.Id} does not hold what its manifest counted: {string.Join("; ", differences)}");
        }
        say($"drill: the dump of backup {set.Manifest.Id} loads and holds the rows its manifest counted ({rows.Values.Sum()} in {rows.Count} tables)");
    }

    /// <summary>
    /// Closes the live cluster's current WAL segment and waits until the archive has it: the moment a
    /// drill's restore must reach. Nothing of the data changes.
    /// </summary>
    public static async Task<string> CloseSegmentAsync(string liveConnectionString, TimeSpan wait, string logs, CancellationToken cancellationToken)
    {
        await using var live = new NpgsqlConnection(liveConnectionString);
        await live.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT lsn::text, pg_walfile_name(lsn) FROM pg_switch_wal() AS lsn", live);
        string lsn, segment;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            (lsn, segment) = (reader.GetString(0), reader.GetString(1));
        }
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await using var archiver = new NpgsqlCommand("SELECT coalesce(last_archived_wal, ''), coalesce(last_failed_wal, '') FROM pg_stat_archiver", live);
            await using var reader = await archiver.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var (archived, failed) = (reader.GetString(0), reader.GetString(1));
            // Segment names on one timeline sort in WAL order.
            if (string.CompareOrdinal(archived[..Math.Min(24, archived.Length)], segment) >= 0)
            {
                return lsn;
            }
            if (clock.Elapsed > wait)
            {
                throw new StackException($"WAL segment {segment} was not archived within {wait.TotalSeconds:0} s (last archived {archived}, last failed {failed}); see {logs}");
            }
            await Task.Delay(200, cancellationToken);
        }
    }
}
