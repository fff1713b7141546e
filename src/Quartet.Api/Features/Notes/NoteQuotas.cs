using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Quartet.Api.Infrastructure.Errors;

namespace Quartet.Api.Features.Notes;

internal sealed class NoteQuotaOptions
{
    public const string Section = "Notes";

    /// <summary>The most notes one user may keep.</summary>
    public int MaxNotesPerUser { get; set; } = 10_000;

    /// <summary>The most bytes (UTF-8 of titles, bodies and tags) one user's notes may hold together.</summary>
    public long MaxBytesPerUser { get; set; } = 10L * 1024 * 1024;

    public static bool IsValid(NoteQuotaOptions o) =>
        o.MaxNotesPerUser is >= 1 and <= 100_000_000 && o.MaxBytesPerUser is >= 1024 and <= 1L << 40;

    public const string InvalidMessage = "Notes: MaxNotesPerUser must be 1 to 100000000, MaxBytesPerUser 1024 to 1099511627776";
}

/// <summary>A user's note count and bytes as their note_usage row holds them.</summary>
internal sealed record NoteUsage(int Notes, long Bytes);

/// <summary>
/// Per-user quotas on notes (count and bytes). Every write of a user's notes locks the user's
/// note_usage row before it touches a note and changes the row in the same transaction, so writes of
/// one user are serialised at that row: of two creates racing for the last place, the second sees the
/// first's count. The order (usage row, then note rows) is the same for every write, so they cannot
/// deadlock each other.
/// </summary>
internal static class NoteQuotas
{
    public static IHostApplicationBuilder AddNoteQuotas(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<NoteQuotaOptions>().BindConfiguration(NoteQuotaOptions.Section)
            .Validate(NoteQuotaOptions.IsValid, NoteQuotaOptions.InvalidMessage).ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// Counts one more note of <paramref name="bytes"/> when both quotas allow it; otherwise changes
    /// nothing and returns the usage that refused it. Either way the row stays locked until the
    /// transaction ends.
    /// </summary>
    public static async Task<(bool Allowed, NoteUsage Usage)> ReserveNoteAsync(NpgsqlTransaction transaction, Guid ownerId, int bytes,
        NoteQuotaOptions quota, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        // A first note that alone breaks a quota must not slip in through the INSERT branch.
        var first = bytes <= quota.MaxBytesPerUser ? 1 : quota.MaxNotesPerUser + 1;
        var reserved = await connection.QuerySingleOrDefaultAsync<NoteUsage>(new CommandDefinition("""
            INSERT INTO note_usage AS u (owner_id, notes, bytes) SELECT @ownerId, 1, @bytes WHERE @first <= @maxNotes
            ON CONFLICT (owner_id) DO UPDATE SET notes = u.notes + 1, bytes = u.bytes + EXCLUDED.bytes
                WHERE u.notes + 1 <= @maxNotes AND u.bytes + EXCLUDED.bytes <= @maxBytes
            RETURNING notes AS Notes, bytes AS Bytes
            """, new { ownerId, bytes = (long)bytes, first, maxNotes = quota.MaxNotesPerUser, maxBytes = quota.MaxBytesPerUser },
            transaction, cancellationToken: cancellationToken));
        return reserved is not null ? (true, reserved) : (false, await LockAsync(transaction, ownerId, cancellationToken));
    }

    /// <summary>Locks the user's usage row (none yet: zero) before an update or delete of one of their notes.</summary>
    public static async Task<NoteUsage> LockAsync(NpgsqlTransaction transaction, Guid ownerId, CancellationToken cancellationToken) =>
        await transaction.Connection!.QuerySingleOrDefaultAsync<NoteUsage>(new CommandDefinition(
            "SELECT notes AS Notes, bytes AS Bytes FROM note_usage WHERE owner_id = @ownerId FOR UPDATE", new { ownerId },
            transaction, cancellationToken: cancellationToken)) ?? new NoteUsage(0, 0);

    /// <summary>Applies an update's or a delete's change to the locked usage row.</summary>
    public static Task AdjustAsync(NpgsqlTransaction transaction, Guid ownerId, int notes, long bytes, CancellationToken cancellationToken) =>
        transaction.Connection!.ExecuteAsync(new CommandDefinition(
            "UPDATE note_usage SET notes = notes + @notes, bytes = bytes + @bytes WHERE owner_id = @ownerId", new { ownerId, notes, bytes },
            transaction, cancellationToken: cancellationToken));

    /// <summary>409 quota-exceeded, naming the quota, its limit and the current use.</summary>
    public static ProblemHttpResult Exceeded(NoteQuotaOptions quota, NoteUsage usage, int bytes)
    {
        var (name, limit, used, detail) = usage.Notes + 1 > quota.MaxNotesPerUser
            ? ("notes", quota.MaxNotesPerUser, (long)usage.Notes,
               $"You have {usage.Notes} notes, the most an account may keep ({quota.MaxNotesPerUser}). Delete some to make room.")
            : ("bytes", quota.MaxBytesPerUser, usage.Bytes,
               $"Your notes hold {usage.Bytes} bytes; this one would need {bytes} more, past the {quota.MaxBytesPerUser} bytes an account may keep. Shorten it or delete notes to make room.");
        return TypedResults.Problem(detail: detail, statusCode: StatusCodes.Status409Conflict, title: "Note quota exceeded",
            type: ProblemTypes.QuotaExceeded, extensions: new Dictionary<string, object?> { ["quota"] = name, ["limit"] = limit, ["used"] = used });
    }
}
