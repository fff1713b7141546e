using Microsoft.AspNetCore.Http.HttpResults;

namespace Quartet.Api.Infrastructure.Errors;

/// <summary>The problem results handlers return, so every feature words its errors the same way.</summary>
internal static class Problems
{
    public static ProblemHttpResult Of(int status, string type, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: type);

    /// <summary>400 with field errors: <c>{"errors": {"email": ["..."]}}</c>.</summary>
    public static ValidationProblem Validation(Dictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "The request has invalid fields", type: ProblemTypes.Validation);

    public static ProblemHttpResult NotFound(string what) =>
        Of(StatusCodes.Status404NotFound, ProblemTypes.NotFound, "Not found", $"No {what} with that id.");

    public static ProblemHttpResult Conflict(string detail) =>
        Of(StatusCodes.Status409Conflict, ProblemTypes.Conflict, "Conflict", detail);
}

internal static class TextRules
{
    /// <summary>PostgreSQL text cannot hold U+0000, so input carrying it is a field error, not a server error.</summary>
    public static bool HasNul(this string? value) => value is not null && value.Contains('\0', StringComparison.Ordinal);

    public const string NulMessage = "must not contain the NUL character";
}

/// <summary>Collects field errors; empty means valid.</summary>
internal sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = [];

    public bool IsEmpty => _errors.Count == 0;

    public FieldErrors Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var messages))
        {
            _errors[field] = messages = [];
        }
        messages.Add(message);
        return this;
    }

    public ValidationProblem ToProblem() => Problems.Validation(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
}
