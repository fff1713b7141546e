using System.Diagnostics;
using Npgsql;
using Quartet.Stack;
using Quartet.Stack.Backups;

namespace Quartet.Backup;

/// <summary>
/// The compose stack's restore drill (decision 0022, as native mode's): the newest set is checked, then
/// restored beside the running stack, in the backups volume, into a throwaway PostgreSQL that this
/// container runs privately (socket only, no archiving), to the newest archived moment. It must reach the
/// moment the drill closed on the live server, hold the live server's migrations and load the set's dump
/// with the rows its manifest counted. The Redis snapshot is checked against its checksum; the compose
/// drill starts no Redis or backend of its own (this container has neither program). The success goes
/// into backup_status. The live stack keeps serving: it is only asked to close its current WAL segment.
/// </summary>
public sealed partial class ComposeBackups
{
    private const string DumpCheckDatabase = "quartet_drill_dump";

    /// <summary>The throwaway cluster's folder, on the backups volume (the disk planned for copies of the data); removed after each drill.</summary>
    public static string DrillDirectory => Path.Combine(Root, "drill");

    public async Task<DrillReport> DrillAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await RunDrillAsync(cancellationToken);
        }
        catch (Exception e) when (e is StackException or NpgsqlException or IOException or TimeoutException)
        {
            throw new StackException("drill failed: " + e.Message);
        }
    }

    private async Task<DrillReport> RunDrillAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        if (!await PostgresAnswersAsync(cancellationToken))
        {
            throw new StackException("the stack is not running; the drill restores beside a running stack: start it with ./quartet up --prod");
        }
        await using var held = await LockAsync(cancellationToken);
        var sets = await Sets.ListAsync(cancellationToken);
        var set = sets.Count > 0 ? sets[^1] : throw new StackException($"no backup in {Layout.SetsDirectory}; take one with ./quartet backup");
        say($"drill: backup {set.Manifest.Id}: its files against the manifest's checksums, its base backup against the repository's");
        if (await Sets.VerifyAsync(set, cancellationToken) is { Count: > 0 } problems)
        {
            throw new StackException($"backup {set.Manifest.Id}: {string.Join("; ", problems)}");
        }

        var newest = await LogicalDump.CloseSegmentAsync(Postgres.ConnectionString("postgres"), TimeSpan.FromMinutes(2),
            "./quartet logs postgres and the pgBackRest log in the backups volume", cancellationToken);
        var migrations = await ScalarAsync<long>(Postgres.ConnectionString(Database), "SELECT count(*) FROM schema_migrations", cancellationToken);
        say($"drill: the live stack's WAL is archived up to {newest}; restoring to the end of the archive in {DrillDirectory}");

        var data = Path.Combine(DrillDirectory, "data");
        RemoveDrillDirectory();
        Directory.CreateDirectory(data);
        File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        long users = 0;
        try
        {
            // The stack's configuration with the throwaway folder as the cluster's: the same repository, read only.
            var config = Path.Combine(DrillDirectory, "pgbackrest.conf");
            var lines = (await File.ReadAllLinesAsync(Layout.PgBackRestConfig, cancellationToken))
                .Select(l => l.StartsWith("pg1-path=", StringComparison.Ordinal) ? "pg1-path=" + data : l);
            await File.WriteAllLinesAsync(config, lines, cancellationToken);
            var layout = Layout with { PgBackRestConfig = config };
            await new PgBackRest(layout, new PostgresServer(data, 5432, "", "/tmp", "/tmp")) { Encryption = Encryption }.RestoreAsync(null, null, cancellationToken);
            await RecoverAsync(data, "/tmp/quartet-drill", archive: false, Encryption, async throwaway =>
            {
                var lsn = await ScalarAsync<string>(throwaway.ConnectionString(Database), "SELECT pg_current_wal_lsn()::text", cancellationToken);
                if (!await ScalarAsync<bool>(throwaway.ConnectionString(Database), $"SELECT '{lsn}'::pg_lsn >= '{newest}'::pg_lsn", cancellationToken))
                {
                    throw new StackException($"the restore stopped at {lsn}, before the newest archived moment {newest}: WAL is missing from the archive");
                }
                var applied = await ScalarAsync<long>(throwaway.ConnectionString(Database), "SELECT count(*) FROM schema_migrations", cancellationToken);
                if (applied != migrations)
                {
                    throw new StackException($"the restored database has {applied} migrations, the live one {migrations}: back up after migrating, and drill again");
                }
                users = await ScalarAsync<long>(throwaway.ConnectionString(Database), "SELECT count(*) FROM users", cancellationToken);
                say($"drill: PostgreSQL restored to {lsn} (at or past {newest}) with all {migrations} migrations and {users} users");
                // An encrypted set's dump is decrypted (and so authenticated) into the scratch volume, removed afterwards.
                using var scratch = Sets.NewScratch(set);
                await LogicalDump.CheckLoadsAsync(throwaway, set, DumpCheckDatabase, say, cancellationToken,
                    await Sets.OpenAsync(set, "quartet.dump", scratch, cancellationToken));
            }, cancellationToken);
        }
        finally
        {
            RemoveDrillDirectory();
        }

        var finished = DateTimeOffset.UtcNow;
        var report = new DrillReport(set.Manifest.Id, finished, Math.Round(clock.Elapsed.TotalSeconds, 1), newest, users);
        await BackupStatus.RecordAsync(Postgres.ConnectionString(Database), BackupStatus.Drill, finished,
            $"backup {set.Manifest.Id} restored to {newest}", cancellationToken);
        say($"drill passed in {report.Seconds:0.0} s: backup {set.Manifest.Id} restored to the newest archived moment, verified, and the throwaway cluster removed");
        return report;
    }

    private static void RemoveDrillDirectory()
    {
        if (Directory.Exists(DrillDirectory))
        {
            Directory.Delete(DrillDirectory, recursive: true);
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100", Justification = "LSNs read from PostgreSQL itself.")]
    private static async Task<T> ScalarAsync<T>(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
