using System.ComponentModel.DataAnnotations;

namespace Quartet.Api.Infrastructure.Database;

internal sealed class DatabaseOptions
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
    /// <summary>The role <c>migrate</c> connects as: the owner of the schema, with db_password.</summary>
    [Required, RegularExpression(RoleName)] public string OwnerUsername { get; set; } = "quartet";

    /// <summary>Role names are plain identifiers, so they can be written into DDL safely.</summary>
    public const string RoleName = "^[a-z_][a-z0-9_]{0,62}$";

    public bool SeparateAppRole => Username != OwnerUsername;
    [Range(1, 1000)] public int MaxPoolSize { get; set; } = 50;
    /// <summary>How long the service waits for PostgreSQL at start before it gives up.</summary>
    [Range(0, 600)] public int StartupTimeoutSeconds { get; set; } = 30;
    /// <summary>Read migrations from this folder instead of the ones built into the binary.</summary>
    public string? MigrationsPath { get; set; }
}
