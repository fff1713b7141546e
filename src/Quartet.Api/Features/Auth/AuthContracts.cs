namespace Quartet.Api.Features.Auth;

internal sealed record Credentials(string? Email, string? Password);

internal sealed record UserResponse(Guid Id, string Email, string Role);

internal sealed record LoginResponse(UserResponse User, string CsrfToken);

internal sealed record CsrfResponse(string CsrfToken);

internal sealed record RefreshRequest(string? RefreshToken);

internal sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken);
