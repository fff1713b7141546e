using System.Security.Cryptography;

namespace Quartet.Testing;

/// <summary>Secret files for one app instance, and the settings that point the app at them.</summary>
public sealed class TestSecrets
{
    public TestSecrets(TestStack stack)
    {
        Directory = TestPaths.NewDirectory("secrets");
        Values = new Dictionary<string, string>
        {
            ["db_password"] = stack.Postgres.Password,
            ["redis_password"] = stack.Redis.Password,
            ["session_secret"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            ["jwt_secret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)),
        };
        foreach (var (name, value) in Values)
        {
            File.WriteAllText(Path.Combine(Directory, name), value + "\n");
        }
        // An empty folder stands in for /run/secrets, so the machine's own is never read.
        EmptySecretsDirectory = TestPaths.NewDirectory("run-secrets");
    }

    public string Directory { get; }
    public string EmptySecretsDirectory { get; }
    public Dictionary<string, string> Values { get; }

    /// <summary>Configuration keys as the app reads them: NAME_FILE for each secret.</summary>
    public Dictionary<string, string?> Settings(params string[] except)
    {
        var settings = new Dictionary<string, string?> { ["Secrets:Directory"] = EmptySecretsDirectory };
        foreach (var name in Values.Keys.Except(except))
        {
            settings[name.ToUpperInvariant() + "_FILE"] = Path.Combine(Directory, name);
        }
        return settings;
    }
}
