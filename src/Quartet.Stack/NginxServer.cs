using System.Text.RegularExpressions;

namespace Quartet.Stack;

/// <summary>
/// nginx from deploy/nginx/default.conf.template, rendered the way the container renders it, inside
/// a small nginx.conf of its own. Everything it reads or writes (config, web root, temp files, access
/// log) is under <see cref="Directory"/>, which it owns: as root it runs as www-data, and a checkout
/// in a private home folder (mode 700) would be out of its reach.
/// </summary>
public sealed partial class NginxServer(string directory, int port, string backend, string templateFile, string runDirectory, string logDirectory)
    : ServerProcess("nginx", port, runDirectory, logDirectory)
{

    public string Directory { get; } = directory;
    public string WebRoot => Path.Combine(Directory, "www");
    public string AccessLog => Path.Combine(Directory, "access.log");
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>
    /// Networks (CIDR) or addresses of a proxy or load balancer in front of nginx, separated by commas or
    /// spaces: their X-Forwarded-For names the client (QUARTET_TRUSTED_PROXIES). Empty trusts none.
    /// </summary>
    public string TrustedProxies { get; init; } = "";

    /// <summary>
    /// The host names nginx serves (its <c>server_name</c>, separated by spaces); any other Host gets 421.
    /// </summary>
    public string ServerNames
    {
        get => _serverNames;
        init => _serverNames = ValidServerNames(value);
    }

    private readonly string _serverNames = DefaultServerNames;

    /// <summary>Development's names: the loopback ones a browser on this machine uses.</summary>
    public const string DefaultServerNames = "localhost 127.0.0.1";

    /// <summary>What the readiness probe asks for: the index page, or /health/ready behind it.</summary>
    public string ProbePath { get; init; } = "index.html";

    protected override string CommandLineMarker => "nginx";
    protected override int StopSignal => Native.SigQuit; // graceful: finishes the requests in flight
    protected override string PortAdvice => "set QUARTET_HTTP_PORT to a free port";

    /// <summary>
    /// An nginx master killed with SIGKILL leaves its workers running, still listening on the port: they
    /// are this server's, and are ended before it starts again.
    /// </summary>
    protected override async Task ReleasePortAsync(CancellationToken cancellationToken)
    {
        var orphans = Native.ListenersOn(Port).Where(pid => Native.CommandLine(pid).StartsWith("nginx: worker process", StringComparison.Ordinal)).ToList();
        foreach (var pid in orphans)
        {
            Native.Signal(pid, Native.SigKill);
        }
        for (var i = 0; i < 100 && orphans.Any(Native.IsAlive); i++)
        {
            await Task.Delay(50, cancellationToken);
        }
    }

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "tmp"));
        System.IO.Directory.CreateDirectory(WebRoot);
        var values = new Dictionary<string, string>
        {
            ["QUARTET_BACKEND"] = backend,
            // One backend on loopback: the upstream with its keepalive pool; no name is ever resolved.
            ["QUARTET_PROXY_TO"] = "quartet_backend",
            ["QUARTET_RESOLVER"] = "127.0.0.1",
            ["QUARTET_LISTEN"] = $"127.0.0.1:{Port}",
            ["QUARTET_WEB_ROOT"] = WebRoot,
            ["QUARTET_ACCESS_LOG"] = AccessLog,
            ["QUARTET_REAL_IP_FROM"] = RealIpFrom(TrustedProxies),
            ["QUARTET_SERVER_NAMES"] = ServerNames,
        };
        var template = await File.ReadAllTextAsync(templateFile, cancellationToken);
        var rendered = Variable().Replace(template, m => values.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
        await File.WriteAllTextAsync(Path.Combine(Directory, "quartet.conf"), rendered, cancellationToken);
        var dir = Directory.Replace("\"", "\\\"", StringComparison.Ordinal);
        await File.WriteAllTextAsync(ConfigFile, $$"""
            # Written at every start; the server itself is deploy/nginx/default.conf.template.
            worker_processes 1;
            pid "{{dir}}/nginx.pid";
            error_log stderr warn;
            events { worker_connections 1024; }
            http {
              include /etc/nginx/mime.types;
              default_type application/octet-stream;
              sendfile on;
              tcp_nopush on;
              client_body_temp_path "{{dir}}/tmp/body";
              proxy_temp_path "{{dir}}/tmp/proxy";
              fastcgi_temp_path "{{dir}}/tmp/fastcgi";
              uwsgi_temp_path "{{dir}}/tmp/uwsgi";
              scgi_temp_path "{{dir}}/tmp/scgi";
              include "{{dir}}/quartet.conf";
            }

            """, cancellationToken);
        await ServiceUsers.GiveAsync(Directory, ServiceUsers.Nginx, cancellationToken);
    }

    private string ConfigFile => Path.Combine(Directory, "nginx.conf");

    protected override Command StartCommand() =>
        new(Tools.Nginx(), ["-p", Directory, "-c", ConfigFile, "-g", "daemon off;"]) { User = ServiceUsers.For(ServiceUsers.Nginx) };

    /// <summary>Re-renders the configuration and has the running nginx load it without dropping connections.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await PrepareAsync(cancellationToken);
        if (Pid is { } pid)
        {
            Native.Signal(pid, Native.SigHup);
        }
    }

    /// <summary>Copies a built web UI into the folder nginx serves (replacing what was there).</summary>
    public async Task PublishWebRootAsync(string source, CancellationToken cancellationToken)
    {
        var staging = WebRoot + ".new";
        if (System.IO.Directory.Exists(staging))
        {
            System.IO.Directory.Delete(staging, recursive: true);
        }
        foreach (var file in System.IO.Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(staging, Path.GetRelativePath(source, file));
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        System.IO.Directory.CreateDirectory(staging);
        if (System.IO.Directory.Exists(WebRoot))
        {
            System.IO.Directory.Delete(WebRoot, recursive: true);
        }
        System.IO.Directory.Move(staging, WebRoot);
        await ServiceUsers.GiveAsync(WebRoot, ServiceUsers.Nginx, cancellationToken);
    }

    /// <summary>Asked by the first of <see cref="ServerNames"/>, which nginx serves whatever the list is.</summary>
    public override Task<bool> AnswersAsync(CancellationToken cancellationToken) =>
        AnswersHttpAsync(new Uri(BaseAddress, ProbePath), cancellationToken, ServerNames.Split(' ')[0].Replace("*.", "www.", StringComparison.Ordinal));

    /// <summary>Host names, IP addresses and nginx's wildcards only: the value is written into the configuration.</summary>
    public static string ValidServerNames(string value)
    {
        var names = value.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries);
        return names.Length > 0 && names.All(name => ServerName().IsMatch(name))
            ? string.Join(' ', names)
            : throw new StackException($"QUARTET_SERVER_NAMES must be host names separated by spaces (e.g. 'localhost 127.0.0.1'), not '{value}'");
    }

    [GeneratedRegex(@"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$|^\[[0-9A-Fa-f:.]+\]$")]
    private static partial Regex ServerName();

    /// <summary>The set_real_ip_from lines for QUARTET_TRUSTED_PROXIES, each network checked first.</summary>
    public static string RealIpFrom(string trustedProxies)
    {
        var lines = new List<string>();
        foreach (var entry in trustedProxies.Split([',', ' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!System.Net.IPNetwork.TryParse(entry, out _) && !System.Net.IPAddress.TryParse(entry, out _))
            {
                throw new StackException($"QUARTET_TRUSTED_PROXIES: '{entry}' is not an address or a network in CIDR form (10.0.0.0/8, 2001:db8::/32)");
            }
            lines.Add($"set_real_ip_from {entry};");
        }
        return string.Join("\n", lines);
    }

    [GeneratedRegex(@"\$\{([A-Z_]+)\}")]
    private static partial Regex Variable();
}
