using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Quartet.Stack;

/// <summary>
/// Where a native stack keeps things. The state folder (<c>.quartet/</c> in the checkout, or
/// QUARTET_STATE_DIR) holds what belongs to the operator: secrets, logs, pids, the published backend.
/// The data folder holds what the servers own (PostgreSQL's cluster, Redis's files, nginx and the web
/// root it serves). Run by a normal user, both are the state folder. Run as root, the servers run as
/// their own system accounts, which cannot enter a checkout in a private home folder (mode 700), so
/// their data lives in <c>/var/lib/quartet/&lt;checkout&gt;-&lt;hash&gt;/</c>, one per state folder
/// (QUARTET_DATA_DIR overrides it).
/// </summary>
public sealed partial record StackLayout(string Root, string StateDirectory, string DataDirectory)
{
    public const string SystemDataRoot = "/var/lib/quartet";

    public string SecretsDirectory => Path.Combine(StateDirectory, "secrets");
    public string LogDirectory => Path.Combine(StateDirectory, "logs");
    public string RunDirectory => Path.Combine(StateDirectory, "run");
    public string AppDirectory => Path.Combine(StateDirectory, "app");
    public string AppAssembly => Path.Combine(AppDirectory, "Quartet.Api.dll");
    public string PostgresData => Path.Combine(DataDirectory, "pg", "data");
    public string RedisDirectory => Path.Combine(DataDirectory, "redis");
    public string RedisCacheDirectory => Path.Combine(DataDirectory, "redis-cache");
    public string NginxDirectory => Path.Combine(DataDirectory, "nginx");
    public string NginxTemplate => Path.Combine(Root, "deploy", "nginx", "default.conf.template");
    public string WebDirectory => Path.Combine(Root, "web");

    /// <summary>The layout for a checkout, from QUARTET_STATE_DIR and QUARTET_DATA_DIR when set.</summary>
    public static StackLayout For(string root)
    {
        var state = Path.GetFullPath(Environment.GetEnvironmentVariable("QUARTET_STATE_DIR") is { Length: > 0 } s ? s : Path.Combine(root, ".quartet"));
        var data = Environment.GetEnvironmentVariable("QUARTET_DATA_DIR") is { Length: > 0 } d
            ? Path.GetFullPath(d)
            : Native.IsRoot ? SystemDataFolder(root, state) : state;
        return new StackLayout(root, state, data);
    }

    /// <summary>A folder of its own in /var/lib/quartet for this state folder; its name has no spaces or quotes.</summary>
    public static string SystemDataFolder(string root, string state)
    {
        var name = Unsafe().Replace(Path.GetFileName(Path.TrimEndingDirectorySeparator(root)).ToLowerInvariant(), "-").Trim('-');
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(state)))[..10];
        return Path.Combine(SystemDataRoot, $"{(name.Length == 0 ? "quartet" : name)}-{hash}");
    }

    /// <summary>The repository root, found upwards from a folder (the one holding Quartet.slnx).</summary>
    public static string FindRoot(string from)
    {
        for (var dir = new DirectoryInfo(from); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Quartet.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new StackException($"Quartet.slnx not found above {from}");
    }

    /// <summary>Creates the folders: the operator's private, the servers' reachable.</summary>
    public void Create()
    {
        const UnixFileMode open = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        foreach (var dir in (string[])[StateDirectory, LogDirectory, RunDirectory, AppDirectory, DataDirectory])
        {
            Directory.CreateDirectory(dir);
        }
        File.SetUnixFileMode(DataDirectory, open);
        Directory.CreateDirectory(SecretsDirectory);
        File.SetUnixFileMode(SecretsDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex Unsafe();
}
