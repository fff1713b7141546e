using System.Security.Claims;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>
/// What a handler may ask of the authenticated principal. Both schemes use the access token's claim names,
/// which the bearer principal carries as issued.
/// </summary>
internal static class CurrentUser
{
    public const string SessionScheme = "Session";
    public const string BearerScheme = "Bearer";
    public const string IdClaim = "sub";
    public const string EmailClaim = "email";
    public const string RoleClaim = "role";
    public const string SessionIdClaim = "quartet:session";

    public static Guid Id(this ClaimsPrincipal user) => Guid.Parse(user.FindFirstValue(IdClaim)!);

    public static string Email(this ClaimsPrincipal user) => user.FindFirstValue(EmailClaim)!;

    public static string Role(this ClaimsPrincipal user) => user.FindFirstValue(RoleClaim)!;

    /// <summary>The current session's id when the request came with the session cookie; null for bearer tokens.</summary>
    public static string? SessionId(this ClaimsPrincipal user) => user.FindFirstValue(SessionIdClaim);

    public static ClaimsPrincipal Create(string scheme, Guid id, string email, string role, string sessionId) =>
        new(new ClaimsIdentity(
        [
            new Claim(IdClaim, id.ToString()),
            new Claim(EmailClaim, email),
            new Claim(RoleClaim, role),
            new Claim(SessionIdClaim, sessionId),
        ], scheme, IdClaim, RoleClaim));
}
