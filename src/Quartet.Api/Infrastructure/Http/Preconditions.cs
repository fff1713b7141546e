using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Quartet.Api.Infrastructure.Errors;

namespace Quartet.Api.Infrastructure.Http;

/// <summary>If-Match and If-None-Match for resources whose ETag is <c>"version"</c>.</summary>
internal static class Preconditions
{
    public static ProblemHttpResult Failed() => Problems.Of(StatusCodes.Status412PreconditionFailed, ProblemTypes.PreconditionFailed,
        "The resource has changed", "It was changed since you read it: get it again, then retry with its new ETag in If-Match.");

    /// <summary>
    /// The version a write may replace: 428 without If-Match, 412 when no listed tag matches. "*" means
    /// any version (null); several tags are checked against the current version.
    /// </summary>
    public static async Task<(int? Version, ProblemHttpResult? Problem)> ExpectedVersionAsync(HttpRequest request, Func<Task<int?>> currentVersion)
    {
        var header = request.Headers.IfMatch.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return (null, Problems.Of(StatusCodes.Status428PreconditionRequired, ProblemTypes.PreconditionRequired, "If-Match required",
                "Send If-Match with the ETag from your last read, so a concurrent change is not overwritten."));
        }
        if (header.Trim() == "*")
        {
            return (null, null);
        }
        var versions = new List<int>();
        if (EntityTagHeaderValue.TryParseList([header], out var tags))
        {
            // A "*" inside a list is not an entity tag (RFC 9110 §13.1.1 allows it only alone), so it names no version.
            foreach (var tag in tags.Where(t => !t.IsWeak && t.Tag.Length >= 2))
            {
                if (int.TryParse(tag.Tag.AsSpan(1, tag.Tag.Length - 2), out var version))
                {
                    versions.Add(version);
                }
            }
        }
        if (versions.Count == 0)
        {
            return (null, Failed());
        }
        if (versions.Count == 1)
        {
            return (versions[0], null);
        }
        var current = await currentVersion();
        return current switch
        {
            null => (int.MinValue, null), // no such resource of the caller's: the write matches no row and answers 404
            { } v when versions.Contains(v) => (v, null),
            _ => (null, Failed()),
        };
    }

    public static bool NoneMatch(HttpRequest request, string etag)
    {
        var header = request.Headers.IfNoneMatch.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return false;
        }
        return header.Trim() == "*" || (EntityTagHeaderValue.TryParseList([header], out var tags)
            && tags.Any(t => t.Tag.AsSpan().SequenceEqual(etag.AsSpan().TrimStart("W/"))));
    }
}
