using System.Net.Sockets;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// <c>docker inspect</c> as the engine sends it: the raw JSON, every field included, where a typed
/// model would drop the ones it does not know (a secret could hide in one of those).
/// </summary>
public sealed class RawInspect : IDisposable
{
    private readonly HttpClient _http;

    public RawInspect()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        var socket = string.IsNullOrEmpty(host) ? "/var/run/docker.sock" : new Uri(host).AbsolutePath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await client.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                return new NetworkStream(client, ownsSocket: true);
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://docker"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public Task<string> ContainerAsync(string id, CancellationToken cancellationToken) =>
        _http.GetStringAsync($"/containers/{Uri.EscapeDataString(id)}/json", cancellationToken);

    public void Dispose() => _http.Dispose();
}
