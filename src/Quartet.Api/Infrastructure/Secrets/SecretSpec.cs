namespace Quartet.Api.Infrastructure.Secrets;

/// <summary>A secret the application can read: its file name, its minimum length and how an operator makes it.</summary>
internal sealed record SecretSpec(string Name, int MinimumBytes)
{
    /// <summary>The cluster superuser's password: migrate's bootstrap (and the postgres container) use it, the service never does.</summary>
    public static readonly SecretSpec DbPassword = new("db_password", 16);
    /// <summary>The schema owner's password: migrate runs the migrations with it, the service never does.</summary>
    public static readonly SecretSpec DbOwnerPassword = new("db_owner_password", 16);
    /// <summary>The password of the data-only role the service connects as.</summary>
    public static readonly SecretSpec DbAppPassword = new("db_app_password", 16);
    public static readonly SecretSpec RedisPassword = new("redis_password", 16);
    public static readonly SecretSpec SessionSecret = new("session_secret", 32);
    public static readonly SecretSpec JwtSecret = new("jwt_secret", 32);
    public static readonly SecretSpec AdminPasswordHash = new("admin_password_hash", 32);
    /// <summary>The SMTP login's password; read only when Mail:Username is set. A relay's password may be short.</summary>
    public static readonly SecretSpec SmtpPassword = new("smtp_password", 1);

    public static IReadOnlyList<SecretSpec> All { get; } =
        [DbPassword, DbOwnerPassword, DbAppPassword, RedisPassword, SessionSecret, JwtSecret, AdminPasswordHash, SmtpPassword];

    /// <summary>SESSION_SECRET for session_secret: the plain variable read in Development only.</summary>
    public string VariableName => Name.ToUpperInvariant();

    /// <summary>SESSION_SECRET_FILE for session_secret: names a file that holds the secret.</summary>
    public string FileVariableName => VariableName + "_FILE";

    public const string HowToCreate =
        "create it with scripts/generate-secrets.sh (production) or ./quartet secrets (development)";
}
