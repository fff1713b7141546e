using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Quartet.Api.Infrastructure.Migrations;

/// <summary>One forward-only SQL file: <c>NNNN_name.sql</c>.</summary>
internal sealed record Migration(int Version, string Name, string FileName, string Sql, string Checksum);

/// <summary>
/// The migrations this binary knows: the files of db/migrations built into it, or those of a folder
/// (<c>Database:MigrationsPath</c>). Ordered by version; names and versions are checked once, here.
/// </summary>
internal sealed partial class MigrationCatalog
{
    private const string ResourcePrefix = "migrations/";

    public IReadOnlyList<Migration> Migrations { get; }

    private MigrationCatalog(IEnumerable<(string FileName, string Sql)> files)
    {
        var migrations = new List<Migration>();
        foreach (var (fileName, sql) in files)
        {
            var match = FileNamePattern().Match(fileName);
            if (!match.Success)
            {
                throw new StartupException(
                    $"Migration file '{fileName}' is not named NNNN_name.sql (four digits, then lower-case letters, digits and _).");
            }
            migrations.Add(new Migration(int.Parse(match.Groups[1].ValueSpan, provider: null), match.Groups[2].Value, fileName, sql, Checksum(sql)));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
            {
                throw new StartupException(
                    $"Migrations '{migrations[i - 1].FileName}' and '{migrations[i].FileName}' share version {migrations[i].Version:D4}.");
            }
        }
        Migrations = migrations;
    }

    public static MigrationCatalog Load(string? folder) => folder is null ? FromAssembly() : FromFolder(folder);

    public static MigrationCatalog FromFolder(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new StartupException($"Migrations folder {folder} does not exist (Database__MigrationsPath).");
        }
        return new(Directory.EnumerateFiles(folder, "*.sql").Select(path => (Path.GetFileName(path), File.ReadAllText(path))));
    }

    public static MigrationCatalog FromAssembly()
    {
        var assembly = typeof(MigrationCatalog).Assembly;
        return new(assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(name => (name[ResourcePrefix.Length..], ReadResource(assembly, name))));
    }

    /// <summary>
    /// SHA-256 of the text with line endings made LF, so a checkout that converts them does not look
    /// like an edited migration.
    /// </summary>
    public static string Checksum(string sql) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n"))));

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^(\d{4})_([a-z0-9_]+)\.sql$")]
    private static partial Regex FileNamePattern();
}
