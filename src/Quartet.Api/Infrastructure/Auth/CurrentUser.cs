using System.Security.Claims;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>What a handler may ask of the authenticated principal.</summary>
internal static class CurrentUser
{
    public const string SessionScheme = "Session";
    public const string BearerScheme = "Bearer";
    public const string SessionIdClaim = "quartet:session";

    public static Guid Id(this ClaimsPrincipal user) => Guid.Parse(user.FindFirstValue(ClaimTypes.NameIdentifier)!);

    public static string Email(this ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.Email)!;

    public static string Role(this ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.Role)!;

    /// <summary>The current session's id when the request came with the session cookie; null for bearer tokens.</summary>
    public static string? SessionId(this ClaimsPrincipal user) => user.FindFirstValue(SessionIdClaim);

    public static ClaimsPrincipal Create(string scheme, Guid id, string email, string role, string? sessionId) =>
        new(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, id.ToString()),
            new Claim(ClaimTypes.Email, email),
            new Claim(ClaimTypes.Role, role),
            .. sessionId is null ? Array.Empty<Claim>() : [new Claim(SessionIdClaim, sessionId)],
        ], scheme));
}
