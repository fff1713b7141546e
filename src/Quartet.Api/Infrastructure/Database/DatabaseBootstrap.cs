using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Quartet.Api.Infrastructure.Migrations;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure.Database;

/// <summary>
/// The first thing <c>migrate</c> does, and the only work done as the cluster's superuser (decision 0020),
/// in one transaction under the migrator's advisory lock: the schema owner and the service's role exist
/// as plain login roles with their passwords (as SCRAM-SHA-256 verifiers made here, so no password is in
/// SQL text); the owner owns the database and schema public; and whatever in schema public another role
/// still owns (the superuser, in a database made before 0020) is handed to the owner one object at a time,
/// because PostgreSQL refuses REASSIGN OWNED for the bootstrap superuser. The migrations and grants then
/// run as the owner, which can create and change the schema and nothing beyond it.
/// </summary>
internal sealed partial class DatabaseBootstrap(
    IOptions<DatabaseOptions> options, SecretReader secrets, DatabaseStartup startup, ILogger<DatabaseBootstrap> logger)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var db = options.Value;
        // Every password is read before anything connects, so a missing one stops the run with one line.
        var superPassword = secrets.Read(SecretSpec.DbPassword);
        var ownerVerifier = db.SeparateOwnerRole ? AppRole.ScramVerifier(secrets.Read(SecretSpec.DbOwnerPassword)) : null;
        var appVerifier = db.SeparateAppRole ? AppRole.ScramVerifier(secrets.Read(SecretSpec.DbAppPassword)) : null;

        var connectionString = new NpgsqlConnectionStringBuilder(
            DatabaseExtensions.ConnectionString(db, db.SuperUsername, superPassword, asOwner: true))
        {
            Pooling = false,
            ApplicationName = "quartet-migrate-bootstrap",
        }.ConnectionString;
        await using var source = NpgsqlDataSource.Create(connectionString);
        await startup.WaitAsync(source, cancellationToken);

        await using var connection = await source.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@key)",
            new { key = Migrator.AdvisoryLockKey }, transaction, cancellationToken: cancellationToken));
        if (ownerVerifier is not null)
        {
            await EnsureLoginRoleAsync(connection, transaction, db.OwnerUsername, ownerVerifier, "Database__OwnerUsername", cancellationToken);
        }
        if (appVerifier is not null)
        {
            await EnsureLoginRoleAsync(connection, transaction, db.Username, appVerifier, "Database__Username", cancellationToken);
        }
        var handedOver = 0;
        if (db.SeparateOwnerRole)
        {
            foreach (var statement in OwnershipStatements(db))
            {
                await connection.ExecuteAsync(new CommandDefinition(statement, transaction: transaction, cancellationToken: cancellationToken));
            }
            handedOver = await HandOverAsync(connection, transaction, db.OwnerUsername, cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        LogDone(logger, db.OwnerUsername, handedOver);
    }

    /// <summary>
    /// Creates the role or makes it a plain login role again, with this password. A role that is a superuser
    /// is refused rather than demoted: it is someone's administrator, named here by mistake.
    /// </summary>
    private static async Task EnsureLoginRoleAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, string verifier,
        string setting, CancellationToken cancellationToken)
    {
        var isSuperuser = await connection.ExecuteScalarAsync<bool?>(new CommandDefinition(
            "SELECT rolsuper FROM pg_roles WHERE rolname = @name", new { name }, transaction, cancellationToken: cancellationToken));
        if (isSuperuser == true)
        {
            throw new StartupException(
                $"Database role {name} ({setting}) is a superuser; migrate keeps that role without cluster rights and will not demote a superuser: " +
                "name a role of its own (the defaults are quartet_owner and quartet_app).");
        }
        // Identifiers are checked against DatabaseOptions.RoleName; the verifier is base64 and '$', ':' only.
        var role = Quote(name);
        string[] statements =
        [
            isSuperuser is null ? $"CREATE ROLE {role} LOGIN" : "SELECT 1",
            $"ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '{verifier}'",
        ];
        foreach (var statement in statements)
        {
            await connection.ExecuteAsync(new CommandDefinition(statement, transaction: transaction, cancellationToken: cancellationToken));
        }
    }

    /// <summary>The owner owns the database, so it can grant CONNECT, and schema public (on PostgreSQL 15 and later through pg_database_owner).</summary>
    private static string[] OwnershipStatements(DatabaseOptions db)
    {
        var owner = Quote(db.OwnerUsername);
        string[] statements =
        [
            $"ALTER DATABASE {Quote(db.Name.Replace("\"", "\"\"", StringComparison.Ordinal))} OWNER TO {owner}",
            $"""
            DO $$ BEGIN
              IF (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public') NOT IN ('pg_database_owner', '{db.OwnerUsername}') THEN
                ALTER SCHEMA public OWNER TO {owner};
              END IF;
            END $$
            """,
        ];
        // Default privileges the superuser held for the service (the layout before 0020) no longer apply.
        return db.SeparateAppRole
            ? [.. statements,
                $"ALTER DEFAULT PRIVILEGES FOR ROLE {Quote(db.SuperUsername)} IN SCHEMA public REVOKE ALL ON TABLES FROM {Quote(db.Username)}",
                $"ALTER DEFAULT PRIVILEGES FOR ROLE {Quote(db.SuperUsername)} IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {Quote(db.Username)}"]
            : statements;
    }

    /// <summary>
    /// Tables, views and foreign tables first (their indexes and linked sequences follow them), then the
    /// sequences still left, then routines and standalone types. Members of an extension stay as they are.
    /// </summary>
    private const string ToHandOver = """
        WITH owner AS (SELECT oid FROM pg_roles WHERE rolname = @owner)
        SELECT format('ALTER %s %s OWNER TO %I', CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                   WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass, @owner),
               CASE WHEN c.relkind = 'S' THEN 2 ELSE 1 END AS pass
          FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
           AND c.relowner <> (SELECT oid FROM owner)
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        UNION ALL
        SELECT format('ALTER %s %s OWNER TO %I', CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
                   p.oid::regprocedure, @owner), 3
          FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> (SELECT oid FROM owner)
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
        UNION ALL
        SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, @owner), 3
          FROM pg_type t
         WHERE t.typnamespace = 'public'::regnamespace AND t.typowner <> (SELECT oid FROM owner)
           AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
        """;

    private static async Task<int> HandOverAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string owner, CancellationToken cancellationToken)
    {
        var count = 0;
        foreach (var pass in (int[])[1, 2, 3])
        {
            // Read again for each pass: a table handed over in the first takes its linked sequences with it.
            var statements = await connection.QueryAsync<(string Statement, int Pass)>(new CommandDefinition(
                ToHandOver, new { owner }, transaction, cancellationToken: cancellationToken));
            foreach (var (statement, _) in statements.Where(s => s.Pass == pass).ToList())
            {
#pragma warning disable CA2100 // Built by PostgreSQL's format() from catalog names (%s of regclass/regprocedure/regtype is quoted) and a checked role name.
                await using var command = new NpgsqlCommand(statement, connection, transaction);
#pragma warning restore CA2100
                await command.ExecuteNonQueryAsync(cancellationToken);
                count++;
            }
        }
        return count;
    }

    private static string Quote(string identifier) => "\"" + identifier + "\"";

    [LoggerMessage(Level = LogLevel.Information, Message = "Database bootstrap done: roles current, schema owner {Owner}, {HandedOver} objects handed over to it")]
    private static partial void LogDone(ILogger logger, string owner, int handedOver);
}
