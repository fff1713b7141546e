using System.Security.Cryptography;
using System.Text;

namespace Quartet.StandIns;

/// <summary>
/// The tags' hashes: 12 hex digits of SHA-256. The texts hashed are the ones the shell tools printed
/// when the stand-ins were built by a script (<c>printf '%s\n' ... | sha256sum</c>, <c>find</c> and
/// <c>sha256sum</c> over a directory), so an image built either way keeps its tag.
/// </summary>
internal static class ContentHash
{
    /// <summary>The hash of the parts, each followed by a newline.</summary>
    public static string Of(params IEnumerable<string> parts) =>
        Short(Encoding.UTF8.GetBytes(string.Concat(parts.Select(part => part + "\n"))));

    /// <summary>
    /// The hash of a directory's regular files: their paths and permission bits, then their contents
    /// (as <c>find . -type f -printf '%p %m\n' | sort</c> followed by <c>sha256sum</c> of each file).
    /// </summary>
    public static string OfDirectory(string directory)
    {
        var files = RegularFiles(directory, ".").ToList();
        var text = new StringBuilder();
        foreach (var line in files.Select(f => $"{f.Name} {Convert.ToString((int)File.GetUnixFileMode(f.Path), 8)}").Order(StringComparer.Ordinal))
        {
            text.Append(line).Append('\n');
        }
        foreach (var (path, name) in files.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            text.Append(FileSha256(path)).Append("  ").Append(name).Append('\n');
        }
        return Short(Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>What <c>sha256sum &lt;FILE</c> prints, without the newline.</summary>
    public static string OfStandardInput(string file) => FileSha256(file) + "  -";

    private static string FileSha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string Short(byte[] text) => Convert.ToHexStringLower(SHA256.HashData(text))[..12];

    // As find -P: symbolic links are neither followed nor counted.
    private static IEnumerable<(string Path, string Name)> RegularFiles(string directory, string prefix)
    {
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
        {
            var name = $"{prefix}/{entry.Name}";
            if (entry.LinkTarget is not null)
            {
                continue;
            }
            if (entry is DirectoryInfo)
            {
                foreach (var file in RegularFiles(entry.FullName, name))
                {
                    yield return file;
                }
            }
            else if (entry is FileInfo && (entry.Attributes & FileAttributes.Device) == 0)
            {
                yield return (entry.FullName, name);
            }
        }
    }
}
