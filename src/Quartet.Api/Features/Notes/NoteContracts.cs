using System.Text;
using System.Text.Json.Serialization;
using Quartet.Api.Infrastructure.Errors;

namespace Quartet.Api.Features.Notes;

/// <summary>What a client sends to create or replace a note.</summary>
internal sealed record NoteRequest(string? Title, string? Body, string[]? Tags)
{
    public const int MaxTitle = 200;
    public const int MaxBody = 100_000;
    public const int MaxTags = 10;
    public const int MaxTag = 32;

    /// <summary>Checks every limit; on success returns the note's fields with tags trimmed, lower-cased and deduplicated.</summary>
    public (NoteFields? Fields, FieldErrors Errors) Validate()
    {
        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(Title))
        {
            errors.Add("title", "Title is required.");
        }
        else if (Title.Length > MaxTitle)
        {
            errors.Add("title", $"Title must be at most {MaxTitle} characters.");
        }
        else if (Title.HasNul())
        {
            errors.Add("title", "Title " + TextRules.NulMessage + ".");
        }
        if (Body is { Length: > MaxBody })
        {
            errors.Add("body", $"Body must be at most {MaxBody} characters.");
        }
        else if (Body.HasNul())
        {
            errors.Add("body", "Body " + TextRules.NulMessage + ".");
        }
        var tags = new List<string>();
        if (Tags is { Length: > MaxTags })
        {
            errors.Add("tags", $"A note has at most {MaxTags} tags.");
        }
        for (var i = 0; i < (Tags?.Length ?? 0); i++)
        {
            var tag = Tags![i]?.Trim().ToLowerInvariant();
            if (string.IsNullOrEmpty(tag) || tag.Length > MaxTag || tag.Any(c => char.IsWhiteSpace(c) || c == ',' || char.IsControl(c)))
            {
                errors.Add($"tags[{i}]", $"A tag is 1 to {MaxTag} characters with no spaces or commas.");
            }
            else if (!tags.Contains(tag))
            {
                tags.Add(tag);
            }
        }
        return errors.IsEmpty ? (new NoteFields(Title!.Trim(), Body ?? "", [.. tags]), errors) : (null, errors);
    }
}

internal sealed record NoteFields(string Title, string Body, string[] Tags)
{
    /// <summary>What the note counts toward its owner's byte quota: the UTF-8 bytes of its title, body and tags.</summary>
    [JsonIgnore]
    public int Bytes => Encoding.UTF8.GetByteCount(Title) + Encoding.UTF8.GetByteCount(Body) + Tags.Sum(Encoding.UTF8.GetByteCount);
}

internal sealed record NoteResponse(Guid Id, string Title, string Body, string[] Tags, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    /// <summary>A strong validator: If-Match compares it byte for byte (RFC 9110 §13.1.1).</summary>
    [JsonIgnore]
    public string ETag => $"\"{Version}\"";
}

internal sealed record NoteSummary(Guid Id, string Title, string Excerpt, string[] Tags, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

internal sealed record NotePage(NoteSummary[] Items, string? NextCursor);

[JsonSerializable(typeof(CachedNote))]
[JsonSerializable(typeof(NoteFields))]
[JsonSerializable(typeof(NotePage))]
internal sealed partial class NotesJsonContext : JsonSerializerContext;
