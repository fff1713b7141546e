using Npgsql;

namespace Quartet.Api.Tests.Fuzz;

/// <summary>
/// An MD5 of every row of every table in the public schema, one per table, taken in one query. Tables are read
/// from the catalog, so a table a later migration adds is covered without a change here.
/// </summary>
internal sealed class DatabaseChecksum
{
    /// <summary>
    /// Audit events that record a refusal on purpose: a failed login, and a spent refresh token presented
    /// again (which also revokes its family in Redis). A refused request may add these rows and no other.
    /// </summary>
    public static readonly string[] RefusalEvents = ["login.failed", "refresh.reused"];

    private readonly NpgsqlDataSource _db;
    private readonly string _sql;

    private DatabaseChecksum(NpgsqlDataSource db, string sql) => (_db, _sql) = (db, sql);

    public static async Task<DatabaseChecksum> CreateAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var tables = new List<string>();
        await using (var command = db.CreateCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add(reader.GetString(0));
            }
        }
        Assert.Contains("users", tables);
        var refusals = string.Join(", ", RefusalEvents.Select(e => $"'{e}'"));
        var sql = string.Join("\nUNION ALL\n", tables.Select(table =>
            $"SELECT '{table}', md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
            + (table == "audit_log" ? $" WHERE t.event NOT IN ({refusals})" : "")));
        return new DatabaseChecksum(db, sql);
    }

    public async Task<Dictionary<string, string>> TakeAsync(CancellationToken cancellationToken)
    {
        var sums = new Dictionary<string, string>();
        await using var command = _db.CreateCommand(_sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            sums[reader.GetString(0)] = reader.GetString(1);
        }
        return sums;
    }

    /// <summary>The tables whose rows differ between two checksums.</summary>
    public static IReadOnlyList<string> Changed(IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after) =>
        [.. after.Keys.Union(before.Keys).Where(t => before.GetValueOrDefault(t) != after.GetValueOrDefault(t)).Order(StringComparer.Ordinal)];
}
