using Dapper;
using Npgsql;

namespace Quartet.Api.Features.Users;

/// <summary>An account. <see cref="AuthEpoch"/> is read in the same statement as the hash and the disabled flag (decision 0014).</summary>
internal sealed record User(Guid Id, string Email, string PasswordHash, string Role, DateTime? DisabledAt, DateTime CreatedAt,
    DateTime? EmailVerifiedAt, long AuthEpoch = 0)
{
    public bool IsDisabled => DisabledAt is not null;
}

/// <summary>Account rules and the users table's SQL, shared by the auth, account and admin features.</summary>
internal static class UserAccounts
{
    public const int MinPasswordLength = 12;
    public const int MaxPasswordLength = 128;
    public const int MaxEmailLength = 254;

    private const string Columns = "id AS Id, email AS Email, password_hash AS PasswordHash, role AS Role, disabled_at AS DisabledAt, created_at AS CreatedAt, email_verified_at AS EmailVerifiedAt, auth_epoch AS AuthEpoch";

    /// <summary>Trimmed and case-folded, so " Ann@Example.COM" and "ann@example.com" are one account.</summary>
    public static string NormalizeEmail(string? email) => (email ?? "").Trim().ToLowerInvariant();

    public static string? EmailError(string email)
    {
        var at = email.IndexOf('@', StringComparison.Ordinal);
        if (email.Length == 0)
        {
            return "Email is required.";
        }
        if (email.Length > MaxEmailLength)
        {
            return $"Email must be at most {MaxEmailLength} characters.";
        }
        return at <= 0 || at != email.LastIndexOf('@') || at == email.Length - 1 || email.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))
            ? "Email must look like name@example.com."
            : null;
    }

    public static string? PasswordError(string? password) => password switch
    {
        null or "" => "Password is required.",
        { Length: < MinPasswordLength } => $"Password must be at least {MinPasswordLength} characters.",
        { Length: > MaxPasswordLength } => $"Password must be at most {MaxPasswordLength} characters.",
        _ => null,
    };

    public static async Task<User?> FindByEmailAsync(NpgsqlDataSource db, string email, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition(
            $"SELECT {Columns} FROM users WHERE email = @email", new { email }, cancellationToken: cancellationToken));
    }

    public static async Task<User?> FindByIdAsync(NpgsqlDataSource db, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition(
            $"SELECT {Columns} FROM users WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>Inserts the user; false when the email is taken.</summary>
    public static async Task<bool> TryCreateAsync(NpgsqlDataSource db, User user, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO users (id, email, password_hash, role) VALUES (@Id, @Email, @PasswordHash, @Role)
            ON CONFLICT (email) DO NOTHING
            """, user, cancellationToken: cancellationToken)) == 1;
    }

    /// <summary>
    /// Gives the account a new address, unverified, and raises its auth epoch; returns the new epoch, or null when
    /// another account has the address (or the account is gone). Links sent to the old address stop working by
    /// themselves: each names the address it was sent to.
    /// </summary>
    public static async Task<long?> TryChangeEmailAsync(NpgsqlDataSource db, Guid id, string email, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        try
        {
            return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "UPDATE users SET email = @email, email_verified_at = NULL, auth_epoch = auth_epoch + 1, updated_at = now() WHERE id = @id RETURNING auth_epoch",
                new { id, email }, cancellationToken: cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return null;
        }
    }

    /// <summary>
    /// A new hash for the same password (a rehash at login): the account's sessions and tokens stay. Written only
    /// over <paramref name="oldHash"/>, so a rehash racing a password change cannot bring the old password back.
    /// </summary>
    public static async Task RehashPasswordAsync(NpgsqlDataSource db, Guid id, string oldHash, string hash, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET password_hash = @hash, updated_at = now() WHERE id = @id AND password_hash = @oldHash",
            new { id, oldHash, hash }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Replaces the password: the new hash and a raised auth epoch in one statement, only if the hash is still
    /// <paramref name="expectedHash"/> (the one the current password was checked against), so two changes cannot
    /// both pass on the old password. Returns the new epoch, or null when the hash had changed meanwhile.
    /// </summary>
    public static async Task<long?> ReplacePasswordAsync(NpgsqlDataSource db, Guid id, string expectedHash, string hash, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition("""
            UPDATE users SET password_hash = @hash, auth_epoch = auth_epoch + 1, updated_at = now()
            WHERE id = @id AND password_hash = @expectedHash
            RETURNING auth_epoch
            """, new { id, expectedHash, hash }, cancellationToken: cancellationToken));
    }

    /// <summary>Raises the account's auth epoch, ending everything issued before; returns the new epoch, or null when there is no such account.</summary>
    public static async Task<long?> RaiseAuthEpochAsync(NpgsqlDataSource db, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "UPDATE users SET auth_epoch = auth_epoch + 1, updated_at = now() WHERE id = @id RETURNING auth_epoch",
            new { id }, cancellationToken: cancellationToken));
    }
}
