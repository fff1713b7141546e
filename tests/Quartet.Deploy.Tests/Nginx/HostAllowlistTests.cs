using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Quartet.Deploy.Tests.Nginx;

/// <summary>A production-like pair: nginx serves one host name, and the backend allows it and its own probes' names.</summary>
public sealed class HostAllowlistFixture : IAsyncLifetime
{
    public const string SiteName = "app.example.test";
    private TestStack _stack = null!;

    public BackendServer Backend { get; private set; } = null!;
    public NginxServer Nginx { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = await TestStack.StartAsync(TestContext.Current.CancellationToken);
        var environment = BackendProcess.Environment(_stack, await _stack.CreateDatabaseAsync(), new TestSecrets(_stack));
        // As compose passes it: nginx's server names, then the loopback names of the container's own probe.
        environment["AllowedHosts"] = $"{SiteName} localhost 127.0.0.1";
        Backend = await RunningBackend.StartNewAsync(environment);
        Nginx = await TestNginx.StartNewAsync(Backend.BaseAddress, serverNames: SiteName);
    }

    public async ValueTask DisposeAsync()
    {
        await Nginx.DisposeAsync();
        await Backend.DisposeAsync();
        await _stack.DisposeAsync();
    }
}

[Trait("Category", "Nginx")]
public sealed class HostAllowlistTests(HostAllowlistFixture fixture) : IClassFixture<HostAllowlistFixture>, IDisposable
{
    private readonly HttpClient _client = new() { BaseAddress = fixture.Nginx.BaseAddress };

    public void Dispose() => _client.Dispose();

    [Theory]
    [InlineData("/")]
    [InlineData("/api/auth/me")]
    [InlineData("/health/ready")]
    public async Task TheConfiguredHostIsServed(string path)
    {
        foreach (var host in new[] { HostAllowlistFixture.SiteName, "APP.Example.TEST", $"{HostAllowlistFixture.SiteName}:{fixture.Nginx.Port}" })
        {
            using var response = await SendAsync(path, host);

            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized, $"{host}{path}: {(int)response.StatusCode}");
            NginxAssert.SecurityHeaders(response);
        }
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("app.example.test.evil.example")]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task AnyOtherHostGets421FromNginxAndNeverReachesTheBackend(string host)
    {
        foreach (var path in new[] { "/", "/api/auth/me", "/health/ready" })
        {
            using var response = await SendAsync(path, host);

            Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("urn:quartet:problem:unknown-host", body.GetProperty("type").GetString());
            Assert.False(response.Headers.Contains("X-Request-ID"), "the backend answered");
        }
    }

    [Fact]
    public async Task ARequestWithoutAHostHeaderGets421()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, fixture.Nginx.Port, TestContext.Current.CancellationToken);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync("GET /api/auth/me HTTP/1.0\r\n\r\n"u8.ToArray(), TestContext.Current.CancellationToken);
        using var reader = new StreamReader(stream, Encoding.ASCII);

        var statusLine = await reader.ReadLineAsync(TestContext.Current.CancellationToken);

        Assert.StartsWith("HTTP/1.1 421", statusLine, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBackendItselfRefusesAHostItWasNotGiven()
    {
        using var direct = new HttpClient { BaseAddress = fixture.Backend.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.Host = "evil.example";
        using var refused = await direct.SendAsync(request, TestContext.Current.CancellationToken);
        using var probe = await direct.GetAsync("/health/ready", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.MisdirectedRequest, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal("urn:quartet:problem:unknown-host",
            JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
    }

    private async Task<HttpResponseMessage> SendAsync(string path, string host)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;
        return await _client.SendAsync(request, TestContext.Current.CancellationToken);
    }
}
