using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Quartet.Api.Tests.Support;

/// <summary>
/// Real nginx in front of a running backend, from deploy/nginx/default.conf.template rendered the way
/// the container and `./quartet up` render it. The web root is a small stand-in build: an index.html
/// and one hashed asset, written here, so these tests need no Node toolchain.
/// </summary>
internal sealed partial class NginxServer : ServerProcess
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly string _backend;

    private NginxServer(string backend) : base("nginx")
    {
        _backend = backend;
    }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");
    public string WebRoot => Path.Combine(Directory, "www");
    public const string AssetName = "assets/app-3f9c2a1b.js";

    public static async Task<NginxServer> StartNewAsync(Uri backend)
    {
        var server = new NginxServer($"127.0.0.1:{backend.Port}");
        server.Render();
        await server.StartAsync();
        return server;
    }

    private void Render()
    {
        System.IO.Directory.CreateDirectory(Path.Combine(WebRoot, "assets"));
        File.WriteAllText(Path.Combine(WebRoot, "index.html"),
            $"<!doctype html><html><head><title>Quartet</title><script type=\"module\" src=\"/{AssetName}\"></script></head><body><div id=\"root\"></div></body></html>\n");
        // Big enough for gzip to kick in.
        File.WriteAllText(Path.Combine(WebRoot, AssetName), string.Concat(Enumerable.Repeat("console.log('quartet');\n", 400)));
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "tmp"));

        var template = File.ReadAllText(Path.Combine(TestPaths.Repository, "deploy", "nginx", "default.conf.template"));
        var values = new Dictionary<string, string>
        {
            ["QUARTET_BACKEND"] = _backend,
            ["QUARTET_LISTEN"] = $"127.0.0.1:{Port}",
            ["QUARTET_WEB_ROOT"] = WebRoot,
            ["QUARTET_ACCESS_LOG"] = Path.Combine(Directory, "access.log"),
        };
        var rendered = Variable().Replace(template, m => values.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
        File.WriteAllText(Path.Combine(Directory, "quartet.conf"), rendered);
        File.WriteAllText(Path.Combine(Directory, "nginx.conf"), $$"""
            worker_processes 1;
            pid {{Directory}}/nginx.pid;
            error_log {{Directory}}/error.log warn;
            events { worker_connections 256; }
            http {
              include /etc/nginx/mime.types;
              default_type application/octet-stream;
              client_body_temp_path {{Directory}}/tmp/body;
              proxy_temp_path {{Directory}}/tmp/proxy;
              fastcgi_temp_path {{Directory}}/tmp/fastcgi;
              uwsgi_temp_path {{Directory}}/tmp/uwsgi;
              scgi_temp_path {{Directory}}/tmp/scgi;
              include {{Directory}}/quartet.conf;
            }
            """);
        if (Native.IsRoot)
        {
            using var chown = Process.Start("chown", ["-R", "www-data:www-data", Directory])!;
            chown.WaitForExit();
        }
    }

    protected override ProcessStartInfo StartInfo()
    {
        string[] nginx = ["nginx", "-p", Directory, "-c", Path.Combine(Directory, "nginx.conf"), "-g", "daemon off;"];
        var info = new ProcessStartInfo(Native.IsRoot ? "setpriv" : nginx[0]);
        foreach (var arg in Native.IsRoot ? ["--reuid=www-data", "--regid=www-data", "--clear-groups", "--", .. nginx] : nginx[1..])
        {
            info.ArgumentList.Add(arg);
        }
        return info;
    }

    protected override int StopSignal => Native.SigTerm;

    protected override async Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(BaseAddress, "index.html"), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"\$\{([A-Z_]+)\}")]
    private static partial Regex Variable();
}
