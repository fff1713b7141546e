using Microsoft.Extensions.Options;
using Npgsql;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure.Database;

internal static class DatabaseExtensions
{
    /// <summary>
    /// One pooled <see cref="NpgsqlDataSource"/> for the process: as the data-only role with db_app_password,
    /// or, with <paramref name="asOwner"/> (only <c>migrate</c>), as the schema owner with db_owner_password;
    /// <c>migrate</c> also gets the bootstrap, which connects once as the superuser with db_password.
    /// </summary>
    public static IHostApplicationBuilder AddDatabase(this IHostApplicationBuilder builder, bool asOwner = false)
    {
        builder.AddSecretReader();
        builder.Services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            var secrets = sp.GetRequiredService<SecretReader>();
            var username = asOwner ? options.OwnerUsername : options.Username;
            var password = secrets.Read(PasswordOf(options, username));
            // The name labels the pool in the metrics, instead of the connection string.
            return new NpgsqlDataSourceBuilder(ConnectionString(options, username, password, asOwner)) { Name = asOwner ? "quartet-migrate" : "quartet" }.Build();
        });
        builder.Services.AddSingleton<DatabaseStartup>();
        if (asOwner)
        {
            builder.Services.AddSingleton<DatabaseBootstrap>();
        }
        return builder;
    }

    /// <summary>The secret that holds the password of <paramref name="username"/>, one of the three configured roles.</summary>
    internal static SecretSpec PasswordOf(DatabaseOptions options, string username) =>
        username == options.SuperUsername ? SecretSpec.DbPassword
        : username == options.OwnerUsername ? SecretSpec.DbOwnerPassword
        : SecretSpec.DbAppPassword;

    internal static string ConnectionString(DatabaseOptions options, string username, string password, bool asOwner) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = options.Host,
            Port = options.Port,
            Database = options.Name,
            Username = username,
            Password = password,
            MaxPoolSize = options.MaxPoolSize,
            Timeout = 5,
            CommandTimeout = 30,
            ApplicationName = asOwner ? "quartet-migrate" : "quartet",
            // Statements the hot path repeats are prepared once per physical connection.
            MaxAutoPrepare = 64,
            AutoPrepareMinUsages = 2,
            // The service never changes session state (no SET, temporary tables, LISTEN or advisory locks; the
            // migrator's lock is on its own connection and released), so a pooled connection needs no reset:
            // without this, every reuse sends CLOSE ALL, RESET ALL, DISCARD TEMP and four more statements.
            NoResetOnClose = true,
            // No Kerberos here: without this Npgsql probes for libgssapi at every start, which the official
            // runtime image leaves out, and writes an error about it to stderr.
            GssEncryptionMode = GssEncryptionMode.Disable,
        }.ConnectionString;
}
