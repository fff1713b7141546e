namespace Quartet.Api.Infrastructure.Commands;

/// <summary>
/// What a container HEALTHCHECK runs (the runtime image has no curl): GET /health/ready on the local port,
/// exit 0 only on 200. The port is the one the service listens on, found as Kestrel finds it: the first of
/// ASPNETCORE_URLS, else ASPNETCORE_HTTP_PORTS, else 5000 (ASP.NET Core's own default; the container image sets ASPNETCORE_HTTP_PORTS=8080).
/// </summary>
internal static class HealthcheckCommand
{
    public static async Task<int> RunAsync(IConfiguration configuration, TextWriter error, CancellationToken cancellationToken)
    {
        var url = $"http://127.0.0.1:{LocalPort(configuration)}/health/ready";
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await client.GetAsync(url, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return 0;
            }
            await error.WriteLineAsync($"healthcheck: {url} answered {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await error.WriteLineAsync($"healthcheck: {url} did not answer ({e.GetType().Name})");
        }
        return 1;
    }

    internal static int LocalPort(IConfiguration configuration)
    {
        var urls = configuration["ASPNETCORE_URLS"] ?? configuration["URLS"];
        if (!string.IsNullOrWhiteSpace(urls))
        {
            var first = urls.Split(';')[0].Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal);
            if (Uri.TryCreate(first, UriKind.Absolute, out var uri))
            {
                return uri.Port;
            }
        }
        var ports = configuration["ASPNETCORE_HTTP_PORTS"] ?? configuration["HTTP_PORTS"];
        if (!string.IsNullOrWhiteSpace(ports) && int.TryParse(ports.Split(';', ',')[0], out var port))
        {
            return port;
        }
        return 5000;
    }
}
