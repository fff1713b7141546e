namespace Quartet.Api.Infrastructure.Errors;

/// <summary>
/// The stable <c>type</c> URIs of Quartet's own problems (RFC 9457 §3.1.1). They are names, not links:
/// clients switch on them; nothing needs to be fetched from them.
/// </summary>
internal static class ProblemTypes
{
    private const string Prefix = "urn:quartet:problem:";

    public const string NotReady = Prefix + "not-ready";
    public const string BadRequest = Prefix + "bad-request";
    public const string Validation = Prefix + "validation";
    public const string NotFound = Prefix + "not-found";
    public const string PayloadTooLarge = Prefix + "payload-too-large";
    public const string Internal = Prefix + "internal";
    public const string Unauthenticated = Prefix + "unauthenticated";
    public const string Forbidden = Prefix + "forbidden";
    public const string Csrf = Prefix + "csrf";
    public const string InvalidCredentials = Prefix + "invalid-credentials";
    public const string Throttled = Prefix + "throttled";
    public const string Conflict = Prefix + "conflict";
    public const string InvalidToken = Prefix + "invalid-token";
    public const string Unavailable = Prefix + "unavailable";
    public const string Busy = Prefix + "busy";
    public const string PreconditionRequired = Prefix + "precondition-required";
    public const string PreconditionFailed = Prefix + "precondition-failed";
    public const string IdempotencyMismatch = Prefix + "idempotency-key-reused";
    public const string InvalidLink = Prefix + "invalid-link";
    public const string EmailUnverified = Prefix + "email-unverified";
    public const string QuotaExceeded = Prefix + "quota-exceeded";
    public const string UnknownHost = Prefix + "unknown-host";

    public static string ForStatus(int status) => status switch
    {
        StatusCodes.Status400BadRequest => BadRequest,
        StatusCodes.Status401Unauthorized => Unauthenticated,
        StatusCodes.Status403Forbidden => Forbidden,
        StatusCodes.Status404NotFound => NotFound,
        StatusCodes.Status409Conflict => Conflict,
        StatusCodes.Status413PayloadTooLarge => PayloadTooLarge,
        >= 500 => Internal,
        _ => Prefix + "http-" + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
