using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;

namespace Quartet.Api.Tests.Infrastructure.Mail;

/// <summary>
/// Mail:SmtpVia: the connection goes to a TCP forwarder (compose's mail-egress), while SMTP and TLS still
/// name the relay, whose own name need not resolve from the backend at all.
/// </summary>
public sealed class MailViaTests(SharedStack shared)
{
    [Fact]
    public async Task MailReachesTheRelayThroughTheForwarderWhenTheRelaysNameDoesNotResolve()
    {
        using var forwarder = new Forwarder(shared.Stack.Mail.Port);
        await using var factory = await QuartetFactory.CreateAsync(shared.Stack, new Dictionary<string, string?>
        {
            ["Mail:SmtpHost"] = "relay.invalid",
            ["Mail:SmtpVia"] = $"127.0.0.1:{forwarder.Port}",
        });
        using var client = factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();

        using var response = await client.PostAsJsonAsync("/api/auth/register", new { email, password = ApiClient.StrongPassword });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        await shared.Stack.Mail.WaitForAsync(email);
        Assert.True(forwarder.Connections > 0);
    }

    [Theory]
    [InlineData("mail-egress")]
    [InlineData("mail-egress:0")]
    [InlineData(":2525")]
    public async Task AnSmtpViaThatIsNotHostAndPortStopsTheStart(string via)
    {
        var environment = BackendProcess.Environment(shared.Stack, "postgres", new TestSecrets(shared.Stack));
        environment["Mail__SmtpVia"] = via;

        var result = await BackendProcess.RunAsync(environment, input: null);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("Invalid configuration: ", line, StringComparison.Ordinal);
        Assert.Contains("SmtpVia", line, StringComparison.Ordinal);
    }

    /// <summary>A plain TCP pipe to one port on loopback, as mail-egress is to the relay.</summary>
    private sealed class Forwarder : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private int _connections;

        public Forwarder(int target)
        {
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
                    Interlocked.Increment(ref _connections);
                    var outbound = new TcpClient();
                    await outbound.ConnectAsync(IPAddress.Loopback, target, _stop.Token);
                    _ = PipeAsync(inbound, outbound);
                    _ = PipeAsync(outbound, inbound);
                }
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public int Connections => Volatile.Read(ref _connections);

        private async Task PipeAsync(TcpClient from, TcpClient to)
        {
            try
            {
                await from.GetStream().CopyToAsync(to.GetStream(), _stop.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
            }
            finally
            {
                from.Dispose();
                to.Dispose();
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}
