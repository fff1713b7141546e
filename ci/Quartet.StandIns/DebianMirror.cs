namespace Quartet.StandIns;

/// <summary>The Debian archive this host installs bookworm from, for debootstrap.</summary>
internal static class DebianMirror
{
    public const string Suite = "bookworm";

    /// <summary>The first URI of an enabled deb822 <c>.sources</c> entry for bookworm, else of a one-line <c>sources.list</c> entry.</summary>
    public static string Find(string aptDirectory = "/etc/apt")
    {
        var sourcesDirectory = Path.Combine(aptDirectory, "sources.list.d");
        var deb822 = Files(sourcesDirectory, "*.sources").Select(file => FromDeb822(File.ReadAllText(file)));
        var oneLine = new[] { Path.Combine(aptDirectory, "sources.list") }.Where(File.Exists)
            .Concat(Files(sourcesDirectory, "*.list"))
            .Select(file => FromOneLine(File.ReadAllText(file)));
        return deb822.Concat(oneLine).FirstOrDefault(uri => uri is not null)
            ?? throw new StandInException($"no Debian {Suite} archive found in {aptDirectory}/sources.list*; debootstrap needs one");
    }

    internal static string? FromDeb822(string text)
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
                return uris[0];
            }
        }
        return null;
    }

    // deb [option=value ...] URI SUITE COMPONENT...
    internal static string? FromOneLine(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            var words = Words(line);
            if (words.Length < 3 || words[0] != "deb")
            {
                continue;
            }
            var i = 1;
            if (words[1].StartsWith('['))
            {
                while (i < words.Length && !words[i].EndsWith(']'))
                {
                    i++;
                }
                i++;
            }
            if (i + 1 < words.Length && words[i + 1] == Suite)
            {
                return words[i];
            }
        }
        return null;
    }

    private static string[] Words(string text) => text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    private static IEnumerable<string> Files(string directory, string pattern) =>
        Directory.Exists(directory) ? Directory.GetFiles(directory, pattern).Order(StringComparer.Ordinal) : [];
}
