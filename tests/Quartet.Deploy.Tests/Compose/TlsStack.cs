using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Docker.DotNet.Models;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// The production stack with the opt-in automatic HTTPS (compose.yaml + compose.prod.yaml +
/// compose.tls.yaml), beside a pebble ACME server (Pebble/compose.pebble.yaml), as a project of its
/// own on the suite's images. Its site's name, <see cref="Name"/>, resolves to nginx on the edge
/// network, so pebble validates HTTP-01 against nginx for real. Taken down with its volumes at the end.
/// </summary>
public sealed class TlsStack(ComposeSuite suite) : IAsyncLifetime
{
    public const string Name = "app.quartet.test";

    private string? _notStarted;
    private string? _subnet;

    public ComposeSuite Suite => suite;

    public static string Project => $"{ComposeSuite.Project}-tls";

    public string Folder => Path.Combine(suite.Work, "tls");

    public int HttpPort { get; } = Ports.Free();

    public int HttpsPort { get; } = Ports.Free();

    public int PebbleManagementPort { get; } = Ports.Free();

    public HostCommandResult? Up { get; private set; }

    /// <summary>Pebble's issuing root, from its management API once the stack is up.</summary>
    public X509Certificate2? PebbleRoot { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (!suite.ImagesBuilt)
        {
            return;
        }
        var cancellationToken = TestContext.Current.CancellationToken;
        var pebble = Path.Combine(Folder, "pebble");
        var secrets = Path.Combine(Folder, "secrets");
        Directory.CreateDirectory(pebble);
        Directory.CreateDirectory(secrets);
        WritePebbleFiles(pebble);
        var made = await suite.GenerateSecretsAsync(secrets, Path.Combine(Folder, "admin_password"), cancellationToken);
        if (!made.Succeeded)
        {
            _notStarted = $"scripts/generate-secrets.sh exited with {made.ExitCode}\n{made.Tail()}";
            return;
        }
        var build = await ComposeAsync(["build", "acme", "pebble"], cancellationToken);
        if (!build.Succeeded)
        {
            _notStarted = $"building the acme and pebble images exited with {build.ExitCode}\n{build.Tail()}";
            return;
        }
        // Taken now, not when the suite started: other stacks may have taken the suite's since.
        _subnet = await suite.FreeSubnetAsync(cancellationToken);
        suite.Say($"tls: project {Project}, subnet {_subnet}, http {HttpPort}, https {HttpsPort}, pebble management {PebbleManagementPort}");
        Up = await ComposeAsync(["up", "-d"], cancellationToken);
    }

    public void RequireUp()
    {
        suite.RequireImages();
        Assert.True(_notStarted is null, _notStarted);
        Assert.True(Up is { Succeeded: true }, $"compose up of the TLS stack exited with {Up?.ExitCode} (log: {suite.Log.Path})\n{Up?.Tail(20)}");
    }

    /// <summary>The settings an operator sets for automatic HTTPS, here pointing the ACME client at pebble.</summary>
    public Dictionary<string, string?> Environment(IReadOnlyDictionary<string, string>? overrides = null)
    {
        var environment = suite.Environment(HttpPort);
        environment["QUARTET_COMPOSE_PROJECT"] = Project;
        if (_subnet is not null)
        {
            environment["QUARTET_FRONTEND_SUBNET"] = _subnet;
        }
        environment["QUARTET_SECRETS_DIR"] = Path.Combine(Folder, "secrets");
        environment["QUARTET_SERVER_NAMES"] = Name;
        environment["QUARTET_PUBLIC_URL"] = $"https://{Name}";
        environment["QUARTET_TLS"] = "acme";
        environment["QUARTET_PUBLIC_HTTPS_PORT"] = HttpsPort.ToString(CultureInfo.InvariantCulture);
        environment["QUARTET_ACME_EMAIL"] = "operations@quartet.test";
        environment["QUARTET_ACME_SERVER"] = "https://pebble:14000/dir";
        environment["QUARTET_ACME_CHECK_SECONDS"] = "3600";
        environment["QUARTET_ACME_RETRY_SECONDS"] = "5";
        environment["QUARTET_ACME_RENEW_DAYS"] = "30";
        environment["QUARTET_TLS_RELOAD_CHECK_SECONDS"] = "1";
        environment["QUARTET_TEST_PEBBLE_DIR"] = Path.Combine(Folder, "pebble");
        environment["QUARTET_TEST_PEBBLE_MANAGEMENT_PORT"] = PebbleManagementPort.ToString(CultureInfo.InvariantCulture);
        environment["QUARTET_TEST_PEBBLE_IMAGE"] = $"{ComposeSuite.Project}/pebble:latest";
        environment["QUARTET_ACME_IMAGE"] = $"{ComposeSuite.Project}/acme:latest";
        foreach (var (name, value) in overrides ?? new Dictionary<string, string>())
        {
            environment[name] = value;
        }
        return environment;
    }

    public Task<HostCommandResult> ComposeAsync(IEnumerable<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? overrides = null)
    {
        List<string> argv = [.. suite.ComposeCli, "-p", Project, "--env-file", suite.EmptyEnvFile];
        foreach (var file in new[] { "compose.yaml", "compose.prod.yaml", "compose.tls.yaml", "tests/Quartet.Deploy.Tests/Compose/Pebble/compose.pebble.yaml" })
        {
            argv.AddRange(["-f", Path.Combine(suite.Root, file)]);
        }
        argv.AddRange(arguments);
        return suite.RunAsync(argv, Environment(overrides), TimeSpan.FromMinutes(15), cancellationToken);
    }

    public async Task<ContainerInspectResponse> InspectAsync(string service, CancellationToken cancellationToken)
    {
        var containers = await suite.Docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={Project}"] = true, [$"com.docker.compose.service={service}"] = true },
            },
        }, cancellationToken);
        var container = containers.FirstOrDefault() ?? throw new Xunit.Sdk.XunitException($"the TLS stack has no {service} container");
        return await suite.Docker.Containers.InspectContainerAsync(container.ID, cancellationToken);
    }

    /// <summary>Waits until the services run and are healthy; the ones that are not when the time is up.</summary>
    public async Task<IReadOnlyList<string>> WaitHealthyAsync(TimeSpan limit, CancellationToken cancellationToken, params IReadOnlyList<string> services)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var pending = new List<string>();
            foreach (var service in services)
            {
                var state = (await InspectAsync(service, cancellationToken)).State;
                if (state.Status != "running" || state.Health?.Status != "healthy")
                {
                    pending.Add($"{service} ({state.Status}/{state.Health?.Status})");
                }
            }
            if (pending.Count == 0 || clock.Elapsed >= limit)
            {
                return pending;
            }
            await Task.Delay(1000, cancellationToken);
        }
    }

    /// <summary>Pebble's issuing root (GET /roots/0 on its management API), kept for the checks that follow.</summary>
    public async Task<X509Certificate2> PebbleRootAsync(CancellationToken cancellationToken)
    {
        if (PebbleRoot is not null)
        {
            return PebbleRoot;
        }
        var pebbleCa = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Folder, "pebble", "ca.crt"));
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, c, chain, e) => ChainsTo(c, chain, pebbleCa, e) },
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var pem = await client.GetStringAsync($"https://127.0.0.1:{PebbleManagementPort}/roots/0", cancellationToken);
                PebbleRoot = X509Certificate2.CreateFromPem(pem);
                return PebbleRoot;
            }
            catch (HttpRequestException) when (clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(1000, cancellationToken);
            }
        }
    }

    /// <summary>The certificate nginx presents for <see cref="Name"/> on a new connection.</summary>
    public async Task<X509Certificate2> PresentedCertificateAsync(CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, HttpsPort, cancellationToken);
        await using var tls = new SslStream(tcp.GetStream());
        X509Certificate2Collection presented = [];
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = Name,
            RemoteCertificateValidationCallback = (_, _, chain, _) =>
            {
                presented.AddRange(chain?.ChainPolicy.ExtraStore ?? []);
                return true;
            },
        }, cancellationToken);
        // The intermediates nginx sent travel with the leaf, as a browser's handshake would have them.
        var leaf = new X509Certificate2(tls.RemoteCertificate!);
        Intermediates[leaf.SerialNumber] = presented;
        return leaf;
    }

    /// <summary>The certificate chains to <paramref name="root"/> alone, and names the host it was asked for.</summary>
    public static bool ChainsTo(X509Certificate? certificate, X509Chain? presented, X509Certificate2 root, SslPolicyErrors errors) =>
        certificate is not null && !errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
        && Chain(new X509Certificate2(certificate), root, presented?.ChainPolicy.ExtraStore).Valid;

    /// <summary>The intermediates each presented leaf came with, by serial number.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, X509Certificate2Collection> Intermediates = new();

    public static (bool Valid, string Why) Chain(X509Certificate2 certificate, X509Certificate2 root, X509Certificate2Collection? intermediates = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.ExtraStore.AddRange(intermediates ?? Intermediates.GetValueOrDefault(certificate.SerialNumber) ?? []);
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        var valid = chain.Build(certificate);
        return (valid, string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim())));
    }

    /// <summary>
    /// HTTPS to the published port as a browser at https://app.quartet.test would: the name in the TLS
    /// handshake and the Host header, the connection to loopback, pebble's root the only one trusted.
    /// </summary>
    public HttpClient HttpsClient(X509Certificate2 root, CookieContainer? cookies = null)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = cookies is not null,
            CookieContainer = cookies ?? new CookieContainer(),
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(IPAddress.Loopback, HttpsPort, token);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, c, chain, e) => ChainsTo(c, chain, root, e) },
        };
        return new HttpClient(handler) { BaseAddress = new Uri($"https://{Name}/"), Timeout = TimeSpan.FromSeconds(15) };
    }

    public async ValueTask DisposeAsync()
    {
        if (Up is not null)
        {
            await ComposeAsync(["down", "-v", "--remove-orphans", "--timeout", "10"], CancellationToken.None);
        }
    }

    /// <summary>
    /// Pebble's configuration and the key and certificate of its own HTTPS endpoints (a CA made here;
    /// the ACME client trusts it through LEGO_CA_CERTIFICATES). HTTP-01 is asked on nginx's port 8080.
    /// </summary>
    private static void WritePebbleFiles(string folder)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Quartet test pebble CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pebble", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("pebble");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(12));

        Write("ca.crt", ca.ExportCertificatePem() + "\n");
        Write("pebble.crt", leaf.ExportCertificatePem() + "\n");
        Write("pebble.key", key.ExportPkcs8PrivateKeyPem() + "\n");
        Write("pebble.json", """
            {
              "pebble": {
                "listenAddress": "0.0.0.0:14000",
                "managementListenAddress": "0.0.0.0:15000",
                "certificate": "/etc/pebble/pebble.crt",
                "privateKey": "/etc/pebble/pebble.key",
                "httpPort": 8080,
                "tlsPort": 8443,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
              }
            }
            """);
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        void Write(string name, string text)
        {
            var path = Path.Combine(folder, name);
            File.WriteAllText(path, text);
            // Pebble runs as nobody; this key guards a test server that lives for one run.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
    }
}
