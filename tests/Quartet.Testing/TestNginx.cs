namespace Quartet.Testing;

/// <summary>
/// Real nginx from deploy/nginx/default.conf.template (rendered by Quartet.Stack, as in native mode)
/// in front of a running backend. The web root is a small stand-in build: an index.html and one
/// hashed asset, written here, so these tests need no Node toolchain.
/// </summary>
public static class TestNginx
{
    public const string AssetName = "assets/app-3f9c2a1b.js";

    /// <param name="backend">The backend nginx proxies to.</param>
    /// <param name="trustedProxies">QUARTET_TRUSTED_PROXIES: the peers whose X-Forwarded-For nginx believes (none by default).</param>
    /// <param name="serverNames">QUARTET_SERVER_NAMES: the host names served.</param>
    public static async Task<NginxServer> StartNewAsync(Uri backend, string trustedProxies = "", string serverNames = NginxServer.DefaultServerNames)
    {
        var directory = TestPaths.NewDirectory("nginx");
        var build = Path.Combine(directory, "build");
        Directory.CreateDirectory(Path.Combine(build, "assets"));
        await File.WriteAllTextAsync(Path.Combine(build, "index.html"),
            $"<!doctype html><html><head><title>Quartet</title><script type=\"module\" src=\"/{AssetName}\"></script></head><body><div id=\"root\"></div></body></html>\n");
        // Big enough for gzip to kick in.
        await File.WriteAllTextAsync(Path.Combine(build, AssetName), string.Concat(Enumerable.Repeat("console.log('quartet');\n", 400)));

        var nginx = new NginxServer(Path.Combine(directory, "nginx"), Ports.Free(), $"127.0.0.1:{backend.Port}",
            Path.Combine(TestPaths.Repository, "deploy", "nginx", "default.conf.template"), directory, directory)
        {
            TrustedProxies = trustedProxies,
            ServerNames = serverNames,
        };
        await nginx.PublishWebRootAsync(build, TestContext.Current.CancellationToken);
        await nginx.StartAsync(TestContext.Current.CancellationToken);
        return nginx;
    }
}
