using System.Buffers.Text;
using System.Security.Cryptography;
using Dapper;
using Npgsql;

namespace Quartet.Api.Features.AccountMail;

/// <summary>
/// The single-use tokens in verification and reset links: 256 random bits, base64url (43 characters).
/// Only their SHA-256 is stored, with the account, the address the link was sent to and an expiry.
/// Spending one is one statement, so of two concurrent uses exactly one succeeds.
/// </summary>
internal static class AccountTokens
{
    public const string VerifyEmail = "verify-email";
    public const string ResetPassword = "reset-password";
    private const int Bytes = 32;

    /// <summary>The SHA-256 of a token as the link carries it; null when it is not a token at all (wrong length or alphabet).</summary>
    public static byte[]? HashOf(string? token)
    {
        if (token is not { Length: 43 } || !token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return null;
        }
        try
        {
            var raw = Base64Url.DecodeFromChars(token);
            return raw.Length == Bytes ? SHA256.HashData(raw) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static async Task<string> CreateAsync(NpgsqlDataSource db, Guid userId, string purpose, string email, TimeSpan lifetime,
        CancellationToken cancellationToken)
    {
        var raw = RandomNumberGenerator.GetBytes(Bytes);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at)
            VALUES (@hash, @userId, @purpose, @email, now() + @lifetime)
            """, new { hash = SHA256.HashData(raw), userId, purpose, email, lifetime }, cancellationToken: cancellationToken));
        return Base64Url.EncodeToString(raw);
    }

    /// <summary>How many tokens of <paramref name="purpose"/> the account was sent within <paramref name="window"/>.</summary>
    public static async Task<int> CountRecentAsync(NpgsqlDataSource db, Guid userId, string purpose, TimeSpan window, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT count(*)::int FROM account_tokens WHERE user_id = @userId AND purpose = @purpose AND created_at > now() - @window",
            new { userId, purpose, window }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Spends a reset token and sets the new password hash, in one statement: the token must be unused,
    /// unexpired, for the account's current address, of an enabled account and, when <paramref name="caller"/>
    /// is signed in, theirs. Every other reset token of the account is spent with it, and the address counts
    /// as verified (the link reached it), and its auth epoch rises. Returns the account and its new epoch, or null
    /// when nothing changed.
    /// </summary>
    public static async Task<(Guid UserId, long Epoch)?> ResetPasswordAsync(NpgsqlDataSource db, byte[] hash, Guid? caller, string passwordHash,
        CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var changed = await connection.QueryAsync<(Guid, long)>(new CommandDefinition("""
            WITH spent AS (
                UPDATE account_tokens t SET used_at = now()
                FROM users u
                WHERE t.token_hash = @hash AND t.purpose = 'reset-password' AND t.used_at IS NULL AND t.expires_at > now()
                  AND u.id = t.user_id AND u.email = t.email AND u.disabled_at IS NULL
                  AND (@caller::uuid IS NULL OR t.user_id = @caller)
                RETURNING t.user_id
            ), others AS (
                UPDATE account_tokens o SET used_at = now()
                FROM spent
                WHERE o.user_id = spent.user_id AND o.purpose = 'reset-password' AND o.used_at IS NULL AND o.token_hash <> @hash
            )
            UPDATE users u SET password_hash = @passwordHash, email_verified_at = coalesce(u.email_verified_at, now()),
                auth_epoch = u.auth_epoch + 1, updated_at = now()
            FROM spent WHERE u.id = spent.user_id
            RETURNING u.id, u.auth_epoch
            """, new { hash, caller, passwordHash }, cancellationToken: cancellationToken));
        return changed.Select(row => ((Guid, long)?)row).SingleOrDefault();
    }

    /// <summary>Spends a verification token and marks the address verified, under the same rules as a reset (a disabled account included).</summary>
    public static async Task<Guid?> VerifyEmailAsync(NpgsqlDataSource db, byte[] hash, Guid? caller, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition("""
            WITH spent AS (
                UPDATE account_tokens t SET used_at = now()
                FROM users u
                WHERE t.token_hash = @hash AND t.purpose = 'verify-email' AND t.used_at IS NULL AND t.expires_at > now()
                  AND u.id = t.user_id AND u.email = t.email
                  AND (@caller::uuid IS NULL OR t.user_id = @caller)
                RETURNING t.user_id
            )
            UPDATE users u SET email_verified_at = coalesce(u.email_verified_at, now()), updated_at = now()
            FROM spent WHERE u.id = spent.user_id
            RETURNING u.id
            """, new { hash, caller }, cancellationToken: cancellationToken));
    }
}
