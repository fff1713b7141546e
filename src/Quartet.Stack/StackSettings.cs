using System.Globalization;

namespace Quartet.Stack;

/// <summary>The ports and names of a native stack, from the environment (defaults in docs/configuration.md).</summary>
public sealed record StackSettings(int HttpPort, int BackendPort, int PostgresPort, int RedisPort, string AdminEmail)
{
    /// <summary>The backend's Prometheus endpoint on 127.0.0.1; null (the default) serves no metrics.</summary>
    public int? MetricsPort { get; init; }

    public static StackSettings FromEnvironment() => new(
        Port("QUARTET_HTTP_PORT", 8080),
        Port("QUARTET_BACKEND_PORT", 8081),
        Port("QUARTET_PG_PORT", 55432),
        Port("QUARTET_REDIS_PORT", 56379),
        Environment.GetEnvironmentVariable("ADMIN_EMAIL") is { Length: > 0 } email ? email : "admin@quartet.localhost")
    {
        MetricsPort = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("QUARTET_METRICS_PORT")) ? null : Port("QUARTET_METRICS_PORT", 0),
    };

    /// <summary>Free ports for a private stack beside any other (the end-to-end tests).</summary>
    public static StackSettings Private(string adminEmail) => new(Ports.Free(), Ports.Free(), Ports.Free(), Ports.Free(), adminEmail);

    public Uri PublicUrl => new($"http://127.0.0.1:{HttpPort}/");

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
