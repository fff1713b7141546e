using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quartet.Stack.Backups;

/// <summary>One file of a backup set, with the checksum it had when it was written.</summary>
public sealed record BackupFile(string Name, long Bytes, string Sha256);

/// <summary>
/// What a backup set holds, written last (a set without a manifest is incomplete): when it was
/// taken, the pgBackRest base backup it pairs with, and every file of the set with its SHA-256.
/// </summary>
public sealed record BackupManifest(
    string Id,
    DateTimeOffset TakenAt,
    string PhysicalLabel,
    long PhysicalBytes,
    long RepositoryBytes,
    IReadOnlyList<BackupFile> Files,
    DateTimeOffset? VerifiedAt,
    double Seconds)
{
    public const string FileName = "manifest.json";

    /// <summary>
    /// Rows per table of the public schema in the logical dump, counted in the snapshot the dump was taken
    /// from; a restore drill loads the dump and expects exactly these. Null in sets taken before they were counted.
    /// </summary>
    public IReadOnlyDictionary<string, long>? Rows { get; init; }

    /// <summary>
    /// How the set's files are encrypted (<see cref="SetEncryption.Algorithm"/>, files named <c>*.enc</c>); null
    /// when they are not, as in every set taken before encryption existed. The checksums are of the stored files.
    /// </summary>
    public string? Encrypted { get; init; }

    [JsonIgnore]
    public bool IsEncrypted => Encrypted is not null;

    /// <summary>The name a file of the set is stored under: <c>quartet.dump</c> or <c>quartet.dump.enc</c>.</summary>
    public string Stored(string name) => IsEncrypted ? name + BackupEncryption.Suffix : name;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public long FileBytes => Files.Sum(f => f.Bytes);

    public static async Task<BackupFile> DescribeAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        var hash = await SHA256.HashDataAsync(stream, cancellationToken);
        return new BackupFile(Path.GetFileName(path), stream.Length, Convert.ToHexStringLower(hash));
    }

    public async Task WriteAsync(string directory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(this, Json), cancellationToken);
        File.Move(temporary, path, overwrite: true);
    }

    public static async Task<BackupManifest?> ReadAsync(string directory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        return JsonSerializer.Deserialize<BackupManifest>(await File.ReadAllTextAsync(path, cancellationToken), Json);
    }

    /// <summary>The files whose size or checksum differs from the manifest, or that are missing.</summary>
    public async Task<IReadOnlyList<string>> CheckFilesAsync(string directory, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        foreach (var file in Files)
        {
            var path = Path.Combine(directory, file.Name);
            if (!File.Exists(path))
            {
                problems.Add($"{file.Name} is missing");
                continue;
            }
            var now = await DescribeAsync(path, cancellationToken);
            if (now.Bytes != file.Bytes || now.Sha256 != file.Sha256)
            {
                problems.Add($"{file.Name} does not match its checksum");
            }
        }
        return problems;
    }
}
