using Npgsql;

namespace Quartet.Api.Tests.Infrastructure.Database;

/// <summary>Runs a statement as one database role and says how PostgreSQL answered: null, or its SQLSTATE.</summary>
internal static class RoleSql
{
    public static NpgsqlConnection Connect(int port, string database, string role, string password) => new(new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = port,
        Database = database,
        Username = role,
        Password = password,
        Pooling = false,
    }.ConnectionString);

    public static async Task<string?> SqlStateAsync(NpgsqlConnection connection, string sql)
    {
        await using (connection)
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            try
            {
                await using var command = new NpgsqlCommand(sql, connection);
                await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
                return null;
            }
            catch (PostgresException e)
            {
                return e.SqlState;
            }
        }
    }
}
