using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Quartet.Api.Features.Notes;

/// <summary>
/// Where a page ended, handed back by the client as an opaque string. The list is ordered by
/// (updated_at, id) descending, or by (rank, updated_at, id) descending when searching, and the next page
/// starts strictly after this position: notes inserted or updated meanwhile move ahead of it, so the
/// notes that did not change are each seen exactly once.
/// </summary>
internal sealed record NoteCursor(long UpdatedAtMicros, Guid Id, float? Rank)
{
    /// <summary>The last microsecond a <see cref="DateTime"/> holds: a forged cursor past it is refused, not overflowed.</summary>
    private static readonly long MaxMicros = (DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    public DateTime UpdatedAt => DateTime.UnixEpoch.AddTicks(UpdatedAtMicros * 10);

    public static NoteCursor After(DateTimeOffset updatedAt, Guid id, float? rank) =>
        new((updatedAt.UtcTicks - DateTime.UnixEpoch.Ticks) / 10, id, rank);

    public string Encode() => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join('|',
        UpdatedAtMicros.ToString(CultureInfo.InvariantCulture), Id.ToString("N"),
        Rank?.ToString("R", CultureInfo.InvariantCulture) ?? "")));

    public static bool TryDecode(string? text, out NoteCursor? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }
        try
        {
            var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text)).Split('|');
            if (parts.Length == 3
                && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var micros) && micros <= MaxMicros
                && Guid.TryParseExact(parts[1], "N", out var id))
            {
                float? rank = parts[2].Length == 0 ? null
                    : float.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var r) ? r : float.NaN;
                if (rank is not float.NaN)
                {
                    cursor = new NoteCursor(micros, id, rank);
                    return true;
                }
            }
        }
        catch (FormatException)
        {
        }
        return false;
    }
}
