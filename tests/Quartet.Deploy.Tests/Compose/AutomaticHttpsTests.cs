using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// The opt-in automatic HTTPS end to end: pebble issues a certificate by real HTTP-01 validation
/// through nginx; the site answers over TLS with a chain to pebble's root, redirects http, sets HSTS
/// and a <c>__Host-</c> Secure session cookie; a scheduled renewal brings a new certificate that nginx
/// serves after a graceful reload, while a request begun before it completes.
/// </summary>
[Collection(ComposeCollection.Name)]
[Trait("Category", "Compose")]
[Step(6)]
public sealed class AutomaticHttpsTests(TlsStack stack) : IClassFixture<TlsStack>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private void Say(string line)
    {
        stack.Suite.Log.Say(line);
        TestContext.Current.TestOutputHelper?.WriteLine(line);
    }

    /// <summary>
    /// ./quartet reads QUARTET_TLS for every production command: with acme it adds compose.tls.yaml,
    /// whose one required setting then stops it with one line naming it; any other value is refused.
    /// </summary>
    [Fact, Step(0)]
    public async Task QuartetAddsTheTlsFileOnlyForAcmeAndNamesTheMissingEmail()
    {
        stack.Suite.RequireEngine();
        var quartet = Path.Combine(stack.Suite.Root, "quartet");
        var environment = stack.Environment(new Dictionary<string, string> { ["QUARTET_ACME_EMAIL"] = "" });
        var noEmail = await stack.Suite.RunAsync([quartet, "status", "--prod"], environment, TimeSpan.FromMinutes(2), Cancellation);
        Say($"QUARTET_TLS=acme without QUARTET_ACME_EMAIL: exit {noEmail.ExitCode}: {noEmail.Tail(2)}");
        Assert.NotEqual(0, noEmail.ExitCode);
        Assert.Contains("set QUARTET_ACME_EMAIL to the address the CA writes to", noEmail.Output, StringComparison.Ordinal);

        environment["QUARTET_TLS"] = "yes";
        var wrong = await stack.Suite.RunAsync([quartet, "status", "--prod"], environment, TimeSpan.FromMinutes(2), Cancellation);
        Say($"QUARTET_TLS=yes: exit {wrong.ExitCode}: {wrong.Tail(1)}");
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("QUARTET_TLS must be acme or empty, not 'yes'", wrong.Output, StringComparison.Ordinal);
    }

    [Fact, Step(1)]
    public async Task TheCaIssuesACertificateByHttp01ThroughNginx()
    {
        stack.RequireUp();
        var pending = await stack.WaitHealthyAsync(TimeSpan.FromSeconds(120), Cancellation, "acme", "nginx", "backend");
        Assert.True(pending.Count == 0, $"not running and healthy: {string.Join(", ", pending)}");
        var root = await stack.PebbleRootAsync(Cancellation);
        Say($"pebble's root: {root.Subject}");

        var clock = Stopwatch.StartNew();
        X509Certificate2 presented;
        string why;
        while (true)
        {
            presented = await stack.PresentedCertificateAsync(Cancellation);
            (var valid, why) = TlsStack.Chain(presented, root);
            if (valid || clock.Elapsed > TimeSpan.FromSeconds(120))
            {
                break;
            }
            await Task.Delay(1000, Cancellation);
        }
        Say($"after {clock.Elapsed.TotalSeconds:F0} s nginx presents {presented.Subject}, issued by {presented.Issuer}, serial {presented.SerialNumber}");
        var logs = await stack.ComposeAsync(["logs", "--no-color", "--tail", "200", "acme", "nginx"], Cancellation);
        Assert.True(TlsStack.Chain(presented, root).Valid,
            $"nginx still presents {presented.Subject} (issuer {presented.Issuer}): {why}\n{logs.Tail(30)}");
        Assert.Equal(TlsStack.Name, presented.GetNameInfo(X509NameType.DnsName, forIssuer: false));

        // Pebble asked nginx for the token over plain http, and nginx served it from the webroot.
        Assert.True(logs.Output.Split('\n').Any(l => l.Contains("\"uri\":\"/.well-known/acme-challenge/", StringComparison.Ordinal) && l.Contains("\"status\":200", StringComparison.Ordinal)),
            $"nginx's log shows no challenge answered with 200\n{logs.Tail(30)}");
    }

    [Fact, Step(2)]
    public async Task PlainHttpRedirectsToHttpsExceptTheChallenge()
    {
        stack.RequireUp();
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(15) };
        using var page = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{stack.HttpPort}/notes?tag=ci");
        page.Headers.Host = TlsStack.Name;
        using var redirect = await client.SendAsync(page, Cancellation);
        Say($"GET http://{TlsStack.Name}/notes?tag=ci: {(int)redirect.StatusCode} Location {redirect.Headers.Location}");
        Assert.True(redirect.StatusCode is HttpStatusCode.MovedPermanently or HttpStatusCode.PermanentRedirect, $"answered {(int)redirect.StatusCode}, not a permanent redirect");
        Assert.Equal($"https://{TlsStack.Name}/notes?tag=ci", redirect.Headers.Location?.ToString());
        // Browsers ignore HSTS over plain http; sending it there would only mislead.
        Assert.False(redirect.Headers.Contains("Strict-Transport-Security"), "HSTS sent over plain http");

        using var challenge = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{stack.HttpPort}/.well-known/acme-challenge/no-such-token");
        challenge.Headers.Host = TlsStack.Name;
        using var missing = await client.SendAsync(challenge, Cancellation);
        Say($"GET http://{TlsStack.Name}/.well-known/acme-challenge/no-such-token: {(int)missing.StatusCode}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact, Step(3)]
    public async Task OverHttpsTheAppWorksWithHstsAndAHostPrefixedSecureCookie()
    {
        stack.RequireUp();
        var cookies = new CookieContainer();
        using var client = stack.HttpsClient(await stack.PebbleRootAsync(Cancellation), cookies);

        using var spa = await client.GetAsync("/", Cancellation);
        var hsts = spa.Headers.TryGetValues("Strict-Transport-Security", out var values) ? string.Join(", ", values) : null;
        Say($"GET https://{TlsStack.Name}/: {(int)spa.StatusCode}, Strict-Transport-Security: {hsts}");
        Assert.Equal(HttpStatusCode.OK, spa.StatusCode);
        Assert.Equal("max-age=31536000", hsts);

        var email = ApiClient.NewEmail("ci-tls");
        await client.RegisterAsync(email);
        using var login = await client.PostAsJsonAsync("/api/auth/login", new { email, password = ApiClient.StrongPassword }, Cancellation);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var setCookie = login.Headers.GetValues("Set-Cookie").FirstOrDefault(c => c.StartsWith("__Host-quartet_session=", StringComparison.Ordinal));
        Say($"login over https: Set-Cookie {setCookie?.Split(';')[0].Split('=')[0]}; {string.Join(";", setCookie?.Split(';').Skip(1) ?? [])}");
        Assert.True(setCookie is not null, $"login set no __Host-quartet_session cookie: {string.Join(" | ", login.Headers.GetValues("Set-Cookie"))}");
        var attributes = setCookie.Split(';').Skip(1).Select(a => a.Trim().ToLowerInvariant()).ToList();
        Assert.Contains("secure", attributes);
        Assert.Contains("httponly", attributes);
        Assert.Contains("path=/", attributes);
        Assert.DoesNotContain(attributes, a => a.StartsWith("domain=", StringComparison.Ordinal));

        var csrf = (await login.JsonAsync()).RootElement.GetProperty("csrfToken").GetString()!;
        client.DefaultRequestHeaders.Add("X-CSRF-Token", csrf);
        var note = await client.CreateNoteAsync("tls check", "written over https", ["ci"]);
        using var read = await client.GetAsync($"/api/notes/{note.Id}", Cancellation);
        Say($"note {note.Id} written and read back over https: {(int)read.StatusCode}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Fact, Step(4)]
    public async Task TheAcmeClientIsHardened()
    {
        stack.RequireUp();
        var acme = await stack.InspectAsync("acme", Cancellation);
        var host = acme.HostConfig;
        Say($"acme: user={acme.Config.User} read-only={host.ReadonlyRootfs} cap_drop=[{string.Join(",", host.CapDrop ?? [])}] memory={host.Memory} pids={host.PidsLimit}");
        Assert.Equal("101:101", acme.Config.User);
        Assert.True(host.ReadonlyRootfs);
        Assert.Equal(["ALL"], host.CapDrop ?? []);
        Assert.Contains("no-new-privileges:true", host.SecurityOpt ?? []);
        Assert.True(host.Memory > 0 && host.NanoCPUs > 0 && host.PidsLimit > 0, "acme has no memory, CPU or PID limit");
        var nginx = await stack.InspectAsync("nginx", Cancellation);
        Assert.All(nginx.Mounts.Where(m => m.Destination is "/etc/quartet/tls" or "/var/www/acme"), m => Assert.False(m.RW, $"nginx mounts {m.Destination} writable"));
    }

    /// <summary>
    /// The renewal as the schedule runs it: the ACME client restarted with a renewal window longer than
    /// the certificate's life renews on its first look. A login request begun over a connection made
    /// before the reload (its body still arriving, a byte at a time) completes after nginx serves the
    /// new certificate, and nginx was reloaded, not restarted.
    /// </summary>
    [Fact, Step(5)]
    public async Task ARenewalReloadsNginxWhileARequestInFlightCompletes()
    {
        stack.RequireUp();
        var root = await stack.PebbleRootAsync(Cancellation);
        var before = await stack.PresentedCertificateAsync(Cancellation);
        Assert.True(TlsStack.Chain(before, root).Valid, "no certificate from pebble yet (see the first check)");
        var nginxBefore = await stack.InspectAsync("nginx", Cancellation);

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, stack.HttpsPort, Cancellation);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = TlsStack.Name,
            RemoteCertificateValidationCallback = (_, c, chain, e) => TlsStack.ChainsTo(c, chain, root, e),
        }, Cancellation);
        var oldSerial = new X509Certificate2(tls.RemoteCertificate!).SerialNumber;
        Assert.Equal(before.SerialNumber, oldSerial);
        // JSON may begin with white space: enough of it to send a byte every two seconds for minutes.
        var body = Encoding.ASCII.GetBytes(new string(' ', 200) + """{"email":"nobody-tls@example.com","password":"not the password at all"}""");
        var head = Encoding.ASCII.GetBytes($"POST /api/auth/login HTTP/1.1\r\nHost: {TlsStack.Name}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await tls.WriteAsync(head, Cancellation);
        var sent = 0;
        await SendAsync(1);
        Say($"request begun on a connection with serial {oldSerial}; renewing");

        // nginx gives a client 15 s between two parts of a body: the bytes keep coming while compose
        // recreates acme.
        var renewing = stack.ComposeAsync(["up", "-d", "--no-deps", "acme"], Cancellation,
            new Dictionary<string, string> { ["QUARTET_ACME_RENEW_DAYS"] = "100000", ["QUARTET_ACME_CHECK_SECONDS"] = "3600" });
        var clock = Stopwatch.StartNew();
        X509Certificate2 after;
        while (true)
        {
            await SendAsync(1);
            after = await stack.PresentedCertificateAsync(Cancellation);
            if (after.SerialNumber != oldSerial || clock.Elapsed > TimeSpan.FromSeconds(180))
            {
                break;
            }
            await Task.Delay(2000, Cancellation);
        }
        var renew = await renewing;
        Assert.True(renew.Succeeded, $"restarting acme with a longer renewal window exited with {renew.ExitCode}\n{renew.Tail()}");
        var logs = await stack.ComposeAsync(["logs", "--no-color", "--tail", "40", "acme", "nginx"], Cancellation);
        Say($"after {clock.Elapsed.TotalSeconds:F0} s new connections get serial {after.SerialNumber} (was {oldSerial}); {sent} of {body.Length} body bytes sent");
        Assert.True(after.SerialNumber != oldSerial, $"nginx still serves serial {oldSerial}\n{logs.Tail(30)}");
        Assert.True(TlsStack.Chain(after, root).Valid, "the renewed certificate does not chain to pebble's root");
        Assert.Contains("reloading nginx", logs.Output, StringComparison.Ordinal);

        await SendAsync(body.Length - sent);
        using var reader = new StreamReader(tls, Encoding.ASCII);
        var response = await reader.ReadToEndAsync(Cancellation).WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        var statusLine = response.Split("\r\n")[0];
        Say($"the request begun before the reload answered: {statusLine}");
        Assert.Equal("HTTP/1.1 401 Unauthorized", statusLine);
        Assert.Contains("application/problem+json", response, StringComparison.Ordinal);

        var nginxAfter = await stack.InspectAsync("nginx", Cancellation);
        Assert.Equal(nginxBefore.State.StartedAt, nginxAfter.State.StartedAt);
        Assert.Equal(nginxBefore.RestartCount, nginxAfter.RestartCount);

        async Task SendAsync(int count)
        {
            count = Math.Min(count, body.Length - sent - (count == body.Length - sent ? 0 : 1));
            if (count <= 0)
            {
                return;
            }
            await tls.WriteAsync(body.AsMemory(sent, count), Cancellation);
            await tls.FlushAsync(Cancellation);
            sent += count;
        }
    }
}
