namespace Quartet.StandIns;

/// <summary>An archive entry of this host's apt: where it is and the keyring its Release files are checked with.</summary>
internal sealed record DebianSource(string Uri, string? SignedBy);

/// <summary>The Debian archive this host installs bookworm from, for debootstrap and for fetching single packages.</summary>
internal static class DebianMirror
{
    public const string Suite = "bookworm";

    public static string Find(string aptDirectory = "/etc/apt") => FindSource(aptDirectory).Uri;

    /// <summary>The first enabled deb822 <c>.sources</c> entry for bookworm, else the first one-line <c>sources.list</c> entry.</summary>
    public static DebianSource FindSource(string aptDirectory = "/etc/apt")
    {
        var sourcesDirectory = Path.Combine(aptDirectory, "sources.list.d");
        var deb822 = Files(sourcesDirectory, "*.sources").Select(file => SourceFromDeb822(File.ReadAllText(file)));
        var oneLine = new[] { Path.Combine(aptDirectory, "sources.list") }.Where(File.Exists)
            .Concat(Files(sourcesDirectory, "*.list"))
            .Select(file => SourceFromOneLine(File.ReadAllText(file)));
        return deb822.Concat(oneLine).FirstOrDefault(source => source is not null)
            ?? throw new StandInException($"no Debian {Suite} archive found in {aptDirectory}/sources.list*; debootstrap needs one");
    }

    internal static string? FromDeb822(string text) => SourceFromDeb822(text)?.Uri;

    internal static string? FromOneLine(string text) => SourceFromOneLine(text)?.Uri;

    internal static DebianSource? SourceFromDeb822(string text)
    {
        foreach (var paragraph in text.Replace("\r", "").Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in paragraph.Split('\n'))
            {
                var colon = line.IndexOf(':');
                if (colon > 0 && !line.StartsWith('#') && !char.IsWhiteSpace(line[0]))
                {
                    fields[line[..colon]] = line[(colon + 1)..].Trim();
                }
            }
            var enabled = fields.GetValueOrDefault("Enabled", "yes") != "no";
            var types = Words(fields.GetValueOrDefault("Types", ""));
            var suites = Words(fields.GetValueOrDefault("Suites", ""));
            var uris = Words(fields.GetValueOrDefault("URIs", ""));
            if (enabled && types.Contains("deb") && suites.Contains(Suite) && uris.Length > 0)
            {
                // A keyring path only; an inline key block is left to apt's trusted keys.
                var signedBy = fields.GetValueOrDefault("Signed-By");
                return new DebianSource(uris[0], signedBy is ['/', ..] ? signedBy : null);
            }
        }
        return null;
    }

    // deb [option=value ...] URI SUITE COMPONENT...
    internal static DebianSource? SourceFromOneLine(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            var words = Words(line);
            if (words.Length < 3 || words[0] != "deb")
            {
                continue;
            }
            var i = 1;
            string? signedBy = null;
            if (words[1].StartsWith('['))
            {
                for (; i < words.Length; i++)
                {
                    var option = words[i].Trim('[', ']');
                    if (option.StartsWith("signed-by=", StringComparison.Ordinal))
                    {
                        signedBy = option["signed-by=".Length..];
                    }
                    if (words[i].EndsWith(']'))
                    {
                        break;
                    }
                }
                i++;
            }
            if (i + 1 < words.Length && words[i + 1] == Suite)
            {
                return new DebianSource(words[i], signedBy);
            }
        }
        return null;
    }

    private static string[] Words(string text) => text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    private static IEnumerable<string> Files(string directory, string pattern) =>
        Directory.Exists(directory) ? Directory.GetFiles(directory, pattern).Order(StringComparer.Ordinal) : [];
}
