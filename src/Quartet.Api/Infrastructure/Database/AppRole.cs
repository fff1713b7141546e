using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Quartet.Api.Infrastructure.Migrations;

namespace Quartet.Api.Infrastructure.Database;

/// <summary>
/// Run by <c>migrate</c> as the owner, after the migrations: the service's role (which
/// <see cref="DatabaseBootstrap"/> made a login role with db_app_password) has data rights only. It cannot
/// create, alter or drop anything, and may only read schema_migrations and backup_status, so a flaw in a query cannot change
/// the schema.
/// </summary>
internal sealed partial class AppRole(IOptions<DatabaseOptions> options, NpgsqlDataSource ownerDb, ILogger<AppRole> logger)
    : IPostMigrationStep
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var db = options.Value;
        if (!db.SeparateAppRole)
        {
            return;
        }
        // Identifiers are checked against DatabaseOptions.RoleName.
        var role = "\"" + db.Username + "\"";
        var owner = "\"" + db.OwnerUsername + "\"";
        var database = "\"" + db.Name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        string[] statements =
        [
            $"GRANT CONNECT ON DATABASE {database} TO {role}",
            $"GRANT USAGE ON SCHEMA public TO {role}",
            $"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            $"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            $"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM {role}",
            // Written by the backup tools as the superuser; the service only reports it (decision 0022).
            $"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON backup_status FROM {role}",
            $"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            $"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        ];
        await using var connection = await ownerDb.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var statement in statements)
        {
            await connection.ExecuteAsync(new CommandDefinition(statement, transaction: transaction, cancellationToken: cancellationToken));
        }
        await transaction.CommitAsync(cancellationToken);
        LogReady(logger, db.Username);
    }

    /// <summary>
    /// The verifier PostgreSQL stores for SCRAM-SHA-256 (RFC 5802, RFC 7677), in its own text format: set
    /// as a role's password, the password itself never appears in SQL text, a server log or pg_stat_statements.
    /// </summary>
    internal static string ScramVerifier(string password, byte[]? salt = null, int iterations = 4096)
    {
        salt ??= RandomNumberGenerator.GetBytes(16);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database role {Role} is ready: data rights only")]
    private static partial void LogReady(ILogger logger, string role);
}
