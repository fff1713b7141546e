using System.ComponentModel.DataAnnotations;

namespace Quartet.Api.Infrastructure.Database;

/// <summary>
/// Three roles (decisions 0007 and 0020): the cluster's superuser, which only <c>migrate</c>'s bootstrap
/// uses (db_password); the schema owner, a plain login role that runs the migrations and the grants
/// (db_owner_password); and the data-only role the service connects as (db_app_password).
/// </summary>
internal sealed class DatabaseOptions : IValidatableObject
{
    public const string Section = "Database";

    [Required] public string Host { get; set; } = "127.0.0.1";
    [Range(1, 65535)] public int Port { get; set; } = 5432;
    [Required] public string Name { get; set; } = "quartet";
    /// <summary>
    /// The role the service connects as. When it differs from <see cref="OwnerUsername"/>, migrate keeps it
    /// a login role with data rights only (SELECT, INSERT, UPDATE, DELETE) and its password is db_app_password.
    /// </summary>
    [Required, RegularExpression(RoleName)] public string Username { get; set; } = "quartet_app";
    /// <summary>
    /// The schema's owner, which <c>migrate</c> runs the migrations and grants as. When it differs from
    /// <see cref="SuperUsername"/>, migrate keeps it a login role with no cluster rights (db_owner_password).
    /// </summary>
    [Required, RegularExpression(RoleName)] public string OwnerUsername { get; set; } = "quartet_owner";
    /// <summary>The cluster's superuser (db_password): only <c>migrate</c>'s bootstrap connects as it.</summary>
    [Required, RegularExpression(RoleName)] public string SuperUsername { get; set; } = "quartet";

    /// <summary>Role names are plain identifiers, so they can be written into DDL safely.</summary>
    public const string RoleName = "^[a-z_][a-z0-9_]{0,62}$";

    public bool SeparateAppRole => Username != OwnerUsername;
    public bool SeparateOwnerRole => OwnerUsername != SuperUsername;
    [Range(1, 1000)] public int MaxPoolSize { get; set; } = 50;
    /// <summary>How long the service waits for PostgreSQL at start before it gives up.</summary>
    [Range(0, 600)] public int StartupTimeoutSeconds { get; set; } = 30;
    /// <summary>Read migrations from this folder instead of the ones built into the binary.</summary>
    public string? MigrationsPath { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // migrate makes the service's role a plain login role: it must never be handed the superuser.
        if (Username == SuperUsername && SeparateOwnerRole)
        {
            yield return new ValidationResult(
                $"Database:Username ({Username}) is the superuser (Database:SuperUsername) while the owner is another role; " +
                "the service connects as a data-only role (quartet_app)", [nameof(Username)]);
        }
    }
}
