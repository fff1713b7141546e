using Dapper;
using Npgsql;

namespace Quartet.Api.Features.Users;

internal sealed record User(Guid Id, string Email, string PasswordHash, string Role, DateTime? DisabledAt, DateTime CreatedAt,
    DateTime? EmailVerifiedAt)
{
    public bool IsDisabled => DisabledAt is not null;
}

/// <summary>Account rules and the users table's SQL, shared by the auth, account and admin features.</summary>
internal static class UserAccounts
{
    public const int MinPasswordLength = 12;
    public const int MaxPasswordLength = 128;
    public const int MaxEmailLength = 254;

    private const string Columns = "id AS Id, email AS Email, password_hash AS PasswordHash, role AS Role, disabled_at AS DisabledAt, created_at AS CreatedAt, email_verified_at AS EmailVerifiedAt";

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
    /// Gives the account a new address, unverified; false when another account has it. Links sent to the
    /// old address stop working by themselves: each names the address it was sent to.
    /// </summary>
    public static async Task<bool> TryChangeEmailAsync(NpgsqlDataSource db, Guid id, string email, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        try
        {
            return await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE users SET email = @email, email_verified_at = NULL, updated_at = now() WHERE id = @id",
                new { id, email }, cancellationToken: cancellationToken)) == 1;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return false;
        }
    }

    public static async Task SetPasswordHashAsync(NpgsqlDataSource db, Guid id, string hash, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET password_hash = @hash, updated_at = now() WHERE id = @id", new { id, hash }, cancellationToken: cancellationToken));
    }
}
