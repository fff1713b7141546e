using Dapper;
using Npgsql;

namespace Quartet.Api.Features.Notes;

// Rows are classes with init properties, not positional records: Dapper reports text[] as System.Array and would
// not match a string[] constructor parameter.
internal sealed class NoteRow
{
    public Guid Id { get; init; }
    public Guid OwnerId { get; init; }
    public string Title { get; init; } = "";
    public string Body { get; init; } = "";
    public string[] Tags { get; init; } = [];
    public int Version { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }

    public NoteResponse ToResponse() => new(Id, Title, Body, Tags, Version, Utc(CreatedAt), Utc(UpdatedAt));

    internal static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}

internal sealed class NoteListRow
{
    public Guid Id { get; init; }
    public string Title { get; init; } = "";
    public string Excerpt { get; init; } = "";
    public string[] Tags { get; init; } = [];
    public int Version { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public float? Rank { get; init; }
}

/// <summary>
/// The notes table's SQL. Every statement filters by owner_id, so another user's note is invisible on
/// every path: not found, never forbidden.
/// </summary>
internal static class NoteQueries
{
    private const string Columns = "id AS Id, owner_id AS OwnerId, title AS Title, body AS Body, tags AS Tags, version AS Version, created_at AS CreatedAt, updated_at AS UpdatedAt";

    public static Task<NoteRow> InsertAsync(NpgsqlTransaction transaction, Guid ownerId, NoteFields note, CancellationToken cancellationToken) =>
        transaction.Connection!.QuerySingleAsync<NoteRow>(new CommandDefinition($"""
            INSERT INTO notes (id, owner_id, title, body, tags, bytes) VALUES (@id, @ownerId, @Title, @Body, @Tags, @Bytes)
            RETURNING {Columns}
            """, new { id = Guid.CreateVersion7(), ownerId, note.Title, note.Body, note.Tags, note.Bytes }, transaction, cancellationToken: cancellationToken));

    /// <summary>The bytes the note counts toward its owner's quota, or null when the owner has no such note.</summary>
    public static Task<int?> BytesAsync(NpgsqlTransaction transaction, Guid ownerId, Guid id, CancellationToken cancellationToken) =>
        transaction.Connection!.ExecuteScalarAsync<int?>(new CommandDefinition(
            "SELECT bytes FROM notes WHERE id = @id AND owner_id = @ownerId", new { id, ownerId }, transaction, cancellationToken: cancellationToken));

    public static async Task<NoteRow?> GetAsync(NpgsqlDataSource db, Guid ownerId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<NoteRow>(new CommandDefinition(
            $"SELECT {Columns} FROM notes WHERE id = @id AND owner_id = @ownerId", new { id, ownerId }, cancellationToken: cancellationToken));
    }

    /// <summary>Replaces the note when its version is still <paramref name="expectedVersion"/> (null: any version).</summary>
    public static Task<NoteRow?> UpdateAsync(NpgsqlTransaction transaction, Guid ownerId, Guid id, int? expectedVersion, NoteFields note,
        CancellationToken cancellationToken) =>
        transaction.Connection!.QuerySingleOrDefaultAsync<NoteRow>(new CommandDefinition($"""
            UPDATE notes SET title = @Title, body = @Body, tags = @Tags, bytes = @Bytes, version = version + 1, updated_at = clock_timestamp()
            WHERE id = @id AND owner_id = @ownerId AND (@expectedVersion::int IS NULL OR version = @expectedVersion)
            RETURNING {Columns}
            """, new { id, ownerId, expectedVersion, note.Title, note.Body, note.Tags, note.Bytes }, transaction, cancellationToken: cancellationToken));

    /// <summary>Deletes the note when its version is still <paramref name="expectedVersion"/>; returns its bytes, or null when nothing was deleted.</summary>
    public static Task<int?> DeleteAsync(NpgsqlTransaction transaction, Guid ownerId, Guid id, int? expectedVersion, CancellationToken cancellationToken) =>
        transaction.Connection!.ExecuteScalarAsync<int?>(new CommandDefinition(
            "DELETE FROM notes WHERE id = @id AND owner_id = @ownerId AND (@expectedVersion::int IS NULL OR version = @expectedVersion) RETURNING bytes",
            new { id, ownerId, expectedVersion }, transaction, cancellationToken: cancellationToken));

    /// <summary>
    /// One page, newest change first; with <paramref name="query"/>, best match first. The search text goes
    /// through websearch_to_tsquery, which accepts any input (quotes, operators, SQL) without a syntax error.
    /// </summary>
    public static async Task<List<NoteListRow>> ListAsync(NpgsqlDataSource db, Guid ownerId, int limit, string? tag, string? query,
        NoteCursor? after, CancellationToken cancellationToken)
    {
        var sql = query is null
            ? """
              SELECT id AS Id, title AS Title, left(body, 200) AS Excerpt, tags AS Tags, version AS Version,
                     created_at AS CreatedAt, updated_at AS UpdatedAt, NULL::real AS Rank
              FROM notes
              WHERE owner_id = @ownerId
                AND (@tag::text IS NULL OR tags @> ARRAY[@tag::text])
                AND (@afterId::uuid IS NULL OR (updated_at, id) < (@afterUpdatedAt::timestamptz, @afterId::uuid))
              ORDER BY updated_at DESC, id DESC
              LIMIT @limit
              """
            : """
              SELECT * FROM (
                  SELECT id AS Id, title AS Title, left(body, 200) AS Excerpt, tags AS Tags, version AS Version,
                         created_at AS CreatedAt, updated_at AS UpdatedAt, ts_rank(search, q) AS Rank
                  FROM notes, websearch_to_tsquery('english', @query) AS q
                  WHERE owner_id = @ownerId AND search @@ q
                    AND (@tag::text IS NULL OR tags @> ARRAY[@tag::text])
              ) ranked
              WHERE @afterId::uuid IS NULL OR (Rank, UpdatedAt, Id) < (@afterRank::real, @afterUpdatedAt::timestamptz, @afterId::uuid)
              ORDER BY Rank DESC, UpdatedAt DESC, Id DESC
              LIMIT @limit
              """;
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<NoteListRow>(new CommandDefinition(sql, new
        {
            ownerId,
            limit,
            tag,
            query,
            afterId = after?.Id,
            afterUpdatedAt = after?.UpdatedAt,
            afterRank = after?.Rank,
        }, cancellationToken: cancellationToken))];
    }
}
