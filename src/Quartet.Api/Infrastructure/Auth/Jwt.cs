using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quartet.Api.Infrastructure.Auth;

internal sealed record JwtClaims(
    [property: JsonPropertyName("iss")] string Issuer,
    [property: JsonPropertyName("aud")] string Audience,
    [property: JsonPropertyName("sub")] string Subject,
    [property: JsonPropertyName("email")] string Email,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("iat")] long IssuedAt,
    [property: JsonPropertyName("exp")] long ExpiresAt,
    [property: JsonPropertyName("jti")] string Id);

internal enum JwtFailure
{
    None,
    Malformed,
    Algorithm,
    Signature,
    Expired,
    Issuer,
    Audience,
}

/// <summary>
/// Compact JWS with HS256 (RFC 7515, RFC 7519), written here because the JwtBearer package cannot be had.
/// Only <c>"alg":"HS256"</c> is accepted: <c>none</c>, HS384/HS512 and anything asymmetric are refused
/// before the signature is looked at, so no algorithm confusion is possible.
/// </summary>
internal static class Jwt
{
    private static readonly byte[] Header = Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}""");

    public static string Create(JwtClaims claims, byte[] key)
    {
        var signingInput = Base64Url.EncodeToString(Header) + "." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims, AuthJsonContext.Default.JwtClaims));
        return signingInput + "." + Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(signingInput)));
    }

    /// <summary>Checks header, signature and nothing else: for test vectors and for <see cref="Validate"/>.</summary>
    public static JwtFailure VerifySignature(string token, byte[] key, out byte[] payload)
    {
        payload = [];
        var parts = token.Split('.');
        if (parts.Length != 3 || !TryDecode(parts[0], out var header) || !TryDecode(parts[1], out payload) || !TryDecode(parts[2], out var signature))
        {
            return JwtFailure.Malformed;
        }
        try
        {
            using var json = JsonDocument.Parse(header);
            if (json.RootElement.ValueKind != JsonValueKind.Object
                || !json.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String
                || !string.Equals(alg.GetString(), "HS256", StringComparison.Ordinal)
                || json.RootElement.TryGetProperty("crit", out _))
            {
                return JwtFailure.Algorithm;
            }
        }
        catch (JsonException)
        {
            return JwtFailure.Malformed;
        }
        var expected = HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
        return CryptographicOperations.FixedTimeEquals(expected, signature) ? JwtFailure.None : JwtFailure.Signature;
    }

    public static JwtFailure Validate(string token, byte[] key, string issuer, string audience, DateTimeOffset now, out JwtClaims? claims)
    {
        claims = null;
        var failure = VerifySignature(token, key, out var payload);
        if (failure != JwtFailure.None)
        {
            return failure;
        }
        try
        {
            claims = JsonSerializer.Deserialize(payload, AuthJsonContext.Default.JwtClaims);
        }
        catch (JsonException)
        {
            return JwtFailure.Malformed;
        }
        if (claims is null || claims.ExpiresAt == 0)
        {
            return JwtFailure.Malformed;
        }
        if (claims.ExpiresAt <= now.ToUnixTimeSeconds())
        {
            return JwtFailure.Expired;
        }
        if (string.IsNullOrEmpty(claims.Subject))
        {
            return JwtFailure.Malformed;
        }
        if (!string.Equals(claims.Issuer, issuer, StringComparison.Ordinal))
        {
            return JwtFailure.Issuer;
        }
        return string.Equals(claims.Audience, audience, StringComparison.Ordinal) ? JwtFailure.None : JwtFailure.Audience;
    }

    private static bool TryDecode(string part, out byte[] bytes)
    {
        bytes = [];
        if (part.Length == 0 || part.Length > 8192)
        {
            return false;
        }
        var buffer = new byte[Base64Url.GetMaxDecodedLength(part.Length)];
        if (Base64Url.DecodeFromChars(part, buffer, out var consumed, out var written) != System.Buffers.OperationStatus.Done || consumed != part.Length)
        {
            return false;
        }
        bytes = buffer[..written];
        return true;
    }
}

[JsonSerializable(typeof(JwtClaims))]
internal sealed partial class AuthJsonContext : JsonSerializerContext;
