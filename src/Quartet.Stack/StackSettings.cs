using System.Globalization;

namespace Quartet.Stack;

/// <summary>The ports and names of a native stack, from the environment (defaults in docs/configuration.md).</summary>
public sealed partial record StackSettings(int HttpPort, int BackendPort, int PostgresPort, int RedisPort, string AdminEmail, int MailSmtpPort, int MailWebPort)
{
    /// <summary>The backend's Prometheus endpoint on 127.0.0.1; null (the default) serves no metrics.</summary>
    public int? MetricsPort { get; init; }

    /// <summary>The networks of a proxy in front of nginx whose X-Forwarded-For nginx believes; empty (the default) trusts none.</summary>
    public string TrustedProxies { get; init; } = "";
    /// <summary>The second Redis, which holds only the read cache (decision 0015).</summary>
    public int RedisCachePort { get; init; } = 56380;

    /// <summary>maxmemory of the state Redis (sessions, tokens, counters) and of the cache Redis.</summary>
    public string RedisMaxMemory { get; init; } = "256mb";
    public string RedisCacheMaxMemory { get; init; } = "64mb";

    /// <summary>Settings given to the backend and migrate besides the stack's own (a private stack's).</summary>
    public IReadOnlyDictionary<string, string> BackendSettings { get; init; } = new Dictionary<string, string>();
    /// <summary>The host names nginx serves (<c>QUARTET_SERVER_NAMES</c>); the backend allows the same.</summary>
    public string ServerNames { get; init; } = NginxServer.DefaultServerNames;

    /// <summary>QUARTET_BACKUP_ENCRYPTION: the backups are encrypted at rest (off by default).</summary>
    public bool EncryptBackups { get; init; }

    public static StackSettings FromEnvironment() => new(
        Port("QUARTET_HTTP_PORT", 8080),
        Port("QUARTET_BACKEND_PORT", 8081),
        Port("QUARTET_PG_PORT", 55432),
        Port("QUARTET_REDIS_PORT", 56379),
        Environment.GetEnvironmentVariable("ADMIN_EMAIL") is { Length: > 0 } email ? email : "admin@quartet.localhost",
        Port("QUARTET_MAIL_SMTP_PORT", 1025),
        Port("QUARTET_MAIL_PORT", 1080))
    {
        MetricsPort = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("QUARTET_METRICS_PORT")) ? null : Port("QUARTET_METRICS_PORT", 0),
        TrustedProxies = Environment.GetEnvironmentVariable("QUARTET_TRUSTED_PROXIES") ?? "",
        RedisCachePort = Port("QUARTET_REDIS_CACHE_PORT", 56380),
        RedisMaxMemory = MemorySize("QUARTET_REDIS_MAXMEMORY", "256mb"),
        RedisCacheMaxMemory = MemorySize("QUARTET_REDIS_CACHE_MAXMEMORY", "64mb"),
        ServerNames = Environment.GetEnvironmentVariable("QUARTET_SERVER_NAMES") is { Length: > 0 } names
            ? NginxServer.ValidServerNames(names)
            : NginxServer.DefaultServerNames,
        EncryptBackups = Backups.BackupEncryption.FromEnvironment(),
    };

    /// <summary>Free ports for a private stack beside any other (the end-to-end tests).</summary>
    public static StackSettings Private(string adminEmail) =>
        new(Ports.Free(), Ports.Free(), Ports.Free(), Ports.Free(), adminEmail, Ports.Free(), Ports.Free()) { RedisCachePort = Ports.Free() };

    public Uri PublicUrl => new($"http://127.0.0.1:{HttpPort}/");

    /// <summary>The development mail catcher's web inbox.</summary>
    public Uri MailUrl => new($"http://127.0.0.1:{MailWebPort}/");

    private static int Port(string variable, int fallback)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new StackException($"{variable} must be a port number (1-65535), not '{text}'");
    }

    /// <summary>A Redis memory size: digits and an optional unit (kb, mb, gb).</summary>
    private static string MemorySize(string variable, string fallback)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        return MemorySizePattern().IsMatch(text)
            ? text.ToLowerInvariant()
            : throw new StackException($"{variable} must be a size such as 256mb or 1gb, not '{text}'");
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[1-9][0-9]{0,9}(?i:kb|mb|gb)?$")]
    private static partial System.Text.RegularExpressions.Regex MemorySizePattern();
}
