using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;

namespace Quartet.Deploy.Tests.Nginx;

/// <summary>
/// A backend behind an nginx that trusts a proxy on 127.0.0.1 (QUARTET_TRUSTED_PROXIES=127.0.0.1/32), as
/// it would trust a TLS-terminating load balancer in front of it. Other loopback addresses (127.0.0.2,
/// ...) stand for clients that reach nginx directly.
/// </summary>
public sealed class TrustedProxyNginxFixture : IAsyncLifetime
{
    public TestStack Stack { get; private set; } = null!;
    public string Database { get; private set; } = null!;
    public BackendServer Backend { get; private set; } = null!;
    public NginxServer Nginx { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Stack = await TestStack.StartAsync(TestContext.Current.CancellationToken);
        Database = await Stack.CreateDatabaseAsync();
        Backend = await RunningBackend.StartNewAsync(BackendProcess.Environment(Stack, Database, new TestSecrets(Stack)));
        Nginx = await TestNginx.StartNewAsync(Backend.BaseAddress, trustedProxies: "127.0.0.1/32");
    }

    public async ValueTask DisposeAsync()
    {
        await Nginx.DisposeAsync();
        await Backend.DisposeAsync();
        await Stack.DisposeAsync();
    }
}

[Trait("Category", "Nginx")]
public sealed class NginxClientAddressTests(TrustedProxyNginxFixture fixture) : IClassFixture<TrustedProxyNginxFixture>
{
    /// <summary>A client whose connections come from <paramref name="localAddress"/> (any 127.x address is this host's).</summary>
    private HttpClient ClientFrom(string localAddress) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    }) { BaseAddress = fixture.Nginx.BaseAddress };

    /// <summary>
    /// Sends <paramref name="count"/> requests to a rate-limited endpoint at once (a refresh without a
    /// token: the backend answers 400 at no cost) and returns how many nginx refused with 429.
    /// </summary>
    private static async Task<int> ThrottledAsync(HttpClient client, int count, Func<int, string> forwardedFor)
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, count).Select(i => client.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/api/auth/refresh")
            {
                Content = JsonContent.Create(new { }),
                Headers = { { "X-Forwarded-For", forwardedFor(i) } },
            })));
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.TooManyRequests }));
        var throttled = responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        foreach (var response in responses)
        {
            response.Dispose();
        }
        return throttled;
    }

    [Fact]
    public async Task BehindATrustedProxyEachClientHasItsOwnLimit()
    {
        using var proxy = ClientFrom("127.0.0.1");

        Assert.True(await ThrottledAsync(proxy, 40, _ => "198.51.100.1") > 0);

        // Another client behind the same proxy is not refused for the first one's burst.
        Assert.Equal(0, await ThrottledAsync(proxy, 10, _ => "198.51.100.2"));
        // Through a second trusted hop the client is still the last address that is not a trusted proxy.
        Assert.True(await ThrottledAsync(proxy, 10, _ => "198.51.100.1, 127.0.0.1") > 0);
    }

    [Fact]
    public async Task TheBackendSeesTheClientAddressNginxRestored()
    {
        using var proxy = ClientFrom("127.0.0.1");
        var email = ApiClient.NewEmail();
        using var login = await proxy.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
        {
            Content = JsonContent.Create(new { email, password = "wrong password!" }),
            Headers = { { "X-Forwarded-For", "203.0.113.77" } },
        });
        using var direct = ClientFrom("127.0.0.3");
        using var forged = await direct.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
        {
            Content = JsonContent.Create(new { email, password = "wrong password!" }),
            Headers = { { "X-Forwarded-For", "203.0.113.78" } },
        });

        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(2, await fixture.Stack.ScalarAsync<long>(fixture.Database,
            $"SELECT count(*) FROM audit_log WHERE event = 'login.failed' AND detail->>'email' = '{email}'"));
        Assert.Equal(1, await fixture.Stack.ScalarAsync<long>(fixture.Database,
            $"SELECT count(*) FROM audit_log WHERE event = 'login.failed' AND detail->>'email' = '{email}' AND ip = '203.0.113.77'"));
        Assert.Equal(1, await fixture.Stack.ScalarAsync<long>(fixture.Database,
            $"SELECT count(*) FROM audit_log WHERE event = 'login.failed' AND detail->>'email' = '{email}' AND ip = '127.0.0.3'"));
    }

    [Fact]
    public async Task FromAnUntrustedPeerXForwardedForIsIgnored()
    {
        using var direct = ClientFrom("127.0.0.2");

        // A new invented address on every request: all of them are still the one peer.
        Assert.True(await ThrottledAsync(direct, 40, i => $"203.0.113.{i + 1}") > 0);
    }

    [Fact]
    public async Task Ipv6ClientsShareALimitPerSlash64()
    {
        using var proxy = ClientFrom("127.0.0.1");

        Assert.True(await ThrottledAsync(proxy, 40, _ => "2001:db8:1:2::a") > 0);

        // Another address of the same /64 is the same client; another /64 is not.
        Assert.True(await ThrottledAsync(proxy, 10, i => $"2001:db8:1:2:ffff::{i + 1:x}") > 0);
        Assert.Equal(0, await ThrottledAsync(proxy, 10, i => $"2001:db8:1:3::{i + 1:x}"));
    }

    [Fact]
    public async Task AnIpv4MappedIpv6ClientIsLimitedAsItsIpv4Address()
    {
        using var proxy = ClientFrom("127.0.0.1");

        Assert.True(await ThrottledAsync(proxy, 40, _ => "::ffff:198.51.100.9") > 0);

        Assert.True(await ThrottledAsync(proxy, 10, _ => "198.51.100.9") > 0);
        // Mapped addresses do not all fall into one /64 of their own.
        Assert.Equal(0, await ThrottledAsync(proxy, 10, _ => "::ffff:198.51.100.10"));
    }
}
