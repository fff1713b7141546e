using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Quartet.Api.Infrastructure.Observability;

namespace Quartet.Api.Infrastructure.Idempotency;

internal enum IdempotencyState
{
    /// <summary>The key is this transaction's: do the work, <see cref="IdempotencyStore.CompleteAsync"/>, commit.</summary>
    Claimed,
    /// <summary>Same key, same request, committed earlier: answer with <see cref="IdempotencyClaim.Outcome"/>.</summary>
    Replay,
    /// <summary>Same key, another request: 422.</summary>
    Mismatch,
}

/// <summary>
/// A response kept for replay: its status, the headers a client needs (Location, ETag) and its body, which
/// PostgreSQL keeps as jsonb and gives back as JSON text for the feature to read into its response type.
/// </summary>
internal sealed record StoredOutcome(int Status, string? Location, string? ETag, string Body);

internal sealed record IdempotencyClaim(IdempotencyState State, StoredOutcome? Outcome);

/// <summary>
/// Idempotency-Key for unsafe requests, recorded in PostgreSQL in the same transaction as the write it
/// guards (decision 0016). <see cref="ClaimAsync"/> inserts the key's row first; a concurrent request
/// with the same key waits on the primary key until that transaction ends, and then either replays the
/// committed outcome or, when the first one rolled back or died, claims the key itself. A request that
/// never committed therefore leaves nothing behind, and one that committed can always be replayed. Keys
/// are scoped to the user; the request is compared by a SHA-256 of the operation and its normalised
/// body. Records older than Idempotency:Retention count as absent and are swept by
/// <see cref="IdempotencySweeper"/>.
/// </summary>
internal sealed class IdempotencyStore(NpgsqlDataSource db, IOptions<IdempotencyOptions> options)
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    private const int SweepBatch = 1000;

    // A live row is left alone and stays locked by this transaction (ON CONFLICT locks the row it
    // conflicts with, whether or not the WHERE lets the update happen); an expired one is taken over.
    private const string ClaimSql = """
        INSERT INTO idempotency_keys AS k (user_id, key, request_hash) VALUES (@userId, @key, @fingerprint)
        ON CONFLICT (user_id, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, status = NULL, location = NULL, etag = NULL, response = NULL, created_at = now()
            WHERE k.created_at < now() - @retention
        RETURNING true
        """;

    private const string ReadSql = """
        SELECT request_hash AS RequestHash, status::int AS Status, location AS Location, etag AS ETag, response::text AS Body
        FROM idempotency_keys WHERE user_id = @userId AND key = @key
        """;

    private const string CompleteSql = """
        UPDATE idempotency_keys SET status = @status, location = @location, etag = @etag, response = @body::jsonb
        WHERE user_id = @userId AND key = @key
        """;

    // SKIP LOCKED: replicas sweeping at once take disjoint batches, and neither waits for a request that
    // is taking over an expired key.
    private const string SweepSql = """
        DELETE FROM idempotency_keys WHERE (user_id, key) IN (
            SELECT user_id, key FROM idempotency_keys WHERE created_at < now() - @retention
            ORDER BY created_at LIMIT @limit FOR UPDATE SKIP LOCKED)
        """;

    public TimeSpan Retention => options.Value.Retention;

    public static bool IsValidKey(string key) => key.Length is > 0 and <= 255 && key.All(c => c is >= '!' and <= '~');

    /// <summary>The request's fingerprint: the same key sent to another operation, or with another body, does not match.</summary>
    public static byte[] Fingerprint(string operation, string canonicalRequest) =>
        SHA256.HashData(Encoding.UTF8.GetBytes(operation + "\n" + canonicalRequest));

    /// <summary>
    /// Takes <paramref name="key"/> inside <paramref name="transaction"/>, waiting while another open
    /// transaction holds it. On <see cref="IdempotencyState.Claimed"/>, the caller must
    /// <see cref="CompleteAsync"/> before committing, or roll back.
    /// </summary>
    public async Task<IdempotencyClaim> ClaimAsync(NpgsqlTransaction transaction, Guid userId, string key, byte[] fingerprint,
        CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        var claimed = await connection.ExecuteScalarAsync<bool?>(new CommandDefinition(ClaimSql,
            new { userId, key, fingerprint, retention = Retention }, transaction, cancellationToken: cancellationToken));
        if (claimed is true)
        {
            return new(IdempotencyState.Claimed, null);
        }
        // The row is committed and locked by this transaction: it cannot change or go before the read.
        var row = await connection.QuerySingleAsync<Row>(new CommandDefinition(ReadSql, new { userId, key }, transaction,
            cancellationToken: cancellationToken));
        if (!row.RequestHash.AsSpan().SequenceEqual(fingerprint) || row.Status is not { } status || row.Body is not { } body)
        {
            return new(IdempotencyState.Mismatch, null);
        }
        QuartetMetrics.IdempotentReplay();
        return new(IdempotencyState.Replay, new StoredOutcome(status, row.Location, row.ETag, body));
    }

    /// <summary>Records the outcome of a claimed key; it becomes visible with the transaction's commit.</summary>
    public async Task CompleteAsync(NpgsqlTransaction transaction, Guid userId, string key, StoredOutcome outcome, CancellationToken cancellationToken)
    {
        var updated = await transaction.Connection!.ExecuteAsync(new CommandDefinition(CompleteSql,
            new { userId, key, status = (short)outcome.Status, location = outcome.Location, etag = outcome.ETag, body = outcome.Body },
            transaction, cancellationToken: cancellationToken));
        if (updated != 1)
        {
            throw new InvalidOperationException("CompleteAsync on a key this transaction has not claimed.");
        }
    }

    /// <summary>Deletes the records older than the retention, in batches; returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        int deleted;
        do
        {
            await using var connection = await db.OpenConnectionAsync(cancellationToken);
            deleted = await connection.ExecuteAsync(new CommandDefinition(SweepSql, new { retention = Retention, limit = SweepBatch },
                cancellationToken: cancellationToken));
            total += deleted;
        }
        while (deleted == SweepBatch);
        return total;
    }

    private sealed class Row
    {
        public byte[] RequestHash { get; init; } = [];
        public int? Status { get; init; }
        public string? Location { get; init; }
        public string? ETag { get; init; }
        public string? Body { get; init; }
    }
}
