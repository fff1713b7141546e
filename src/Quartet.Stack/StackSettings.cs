using System.Globalization;

namespace Quartet.Stack;

/// <summary>The ports and names of a native stack, from the environment (defaults in docs/configuration.md).</summary>
public sealed record StackSettings(int HttpPort, int BackendPort, int PostgresPort, int RedisPort, string AdminEmail, int MailSmtpPort, int MailWebPort)
{
    /// <summary>The backend's Prometheus endpoint on 127.0.0.1; null (the default) serves no metrics.</summary>
    public int? MetricsPort { get; init; }

    /// <summary>The host names nginx serves (<c>QUARTET_SERVER_NAMES</c>); the backend allows the same.</summary>
    public string ServerNames { get; init; } = NginxServer.DefaultServerNames;

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
        ServerNames = Environment.GetEnvironmentVariable("QUARTET_SERVER_NAMES") is { Length: > 0 } names
            ? NginxServer.ValidServerNames(names)
            : NginxServer.DefaultServerNames,
    };

    /// <summary>Free ports for a private stack beside any other (the end-to-end tests).</summary>
    public static StackSettings Private(string adminEmail) =>
        new(Ports.Free(), Ports.Free(), Ports.Free(), Ports.Free(), adminEmail, Ports.Free(), Ports.Free());

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
}
