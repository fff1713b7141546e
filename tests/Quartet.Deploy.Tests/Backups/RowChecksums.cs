using System.Globalization;
using System.Text.Json;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>
/// What a database holds, to compare before and after a restore: an MD5 of every row of every table in the
/// public schema, per table. The mail outbox's delivery columns change on their own while its worker sends,
/// so only what a row was written with counts there. The same worker mints a mail's token when it sends it
/// (again at each retry): with <c>tokensMintedBy</c>, only tokens minted by then count. The caller runs the
/// SQL (Npgsql, or psql in a container).
/// </summary>
public static class RowChecksums
{
    /// <param name="query">Runs one statement and returns the first column of each row, as text.</param>
    /// <param name="cancellationToken">Stops the queries.</param>
    /// <param name="tokensMintedBy">When given, account_tokens rows created after it do not count.</param>
    public static async Task<string> ComputeAsync(Func<string, CancellationToken, Task<IReadOnlyList<string>>> query, CancellationToken cancellationToken,
        DateTimeOffset? tokensMintedBy = null)
    {
        var tables = await query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", cancellationToken);
        var sums = new Dictionary<string, string>();
        foreach (var table in tables)
        {
            var rows = table switch
            {
                "mail_outbox" => "(SELECT id, template, recipient, user_id, created_at FROM mail_outbox)",
                "account_tokens" when tokensMintedBy is { } by =>
                    $"(SELECT * FROM account_tokens WHERE created_at <= '{by.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00')",
                _ => $"\"{table}\"",
            };
            var sum = await query($"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {rows} t", cancellationToken);
            sums[table] = sum.Single();
        }
        return JsonSerializer.Serialize(sums);
    }
}
