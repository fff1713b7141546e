using System.ComponentModel.DataAnnotations;

namespace Quartet.Api.Infrastructure.Database;

internal sealed class DatabaseOptions
{
    public const string Section = "Database";

    [Required] public string Host { get; set; } = "127.0.0.1";
    [Range(1, 65535)] public int Port { get; set; } = 5432;
    [Required] public string Name { get; set; } = "quartet";
    /// <summary>The role the service connects as (data rights only in production).</summary>
    [Required] public string Username { get; set; } = "quartet";
    /// <summary>The role <c>migrate</c> connects as: the schema owner. Defaults to <see cref="Username"/>.</summary>
    public string? OwnerUsername { get; set; }
    [Range(1, 1000)] public int MaxPoolSize { get; set; } = 50;
    /// <summary>How long the service waits for PostgreSQL at start before it gives up.</summary>
    [Range(0, 600)] public int StartupTimeoutSeconds { get; set; } = 30;
    /// <summary>Read migrations from this folder instead of the ones built into the binary.</summary>
    public string? MigrationsPath { get; set; }
}
