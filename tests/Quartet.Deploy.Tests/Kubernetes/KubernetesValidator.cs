namespace Quartet.Deploy.Tests.Kubernetes;

/// <summary>
/// deploy/kubernetes/validate: node and the schema-carrying packages of its lock file, installed with
/// <c>npm ci</c> when node_modules does not match the lock file (as the web UI and the mail catcher are).
/// </summary>
internal sealed class KubernetesValidator
{
    private static readonly SemaphoreSlim Install = new(1, 1);

    private readonly string _node;

    private KubernetesValidator(string node) => _node = node;

    public static string Folder { get; } = Path.Combine(RenderedManifests.KubernetesRoot, "validate");

    /// <summary>Installs the packages when needed; skips the test without node and npm, or fails it on CI (CI=true).</summary>
    public static async Task<KubernetesValidator> PrepareAsync(CancellationToken cancellationToken)
    {
        var node = Tools.OnPath("node");
        var npm = Tools.OnPath("npm");
        if (node is null || npm is null)
        {
            var reason = "node and npm are needed to validate the manifests against the Kubernetes schemas (./quartet test installs npm)";
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail(reason);
            }
            Assert.Skip(reason);
        }
        await Install.WaitAsync(cancellationToken);
        try
        {
            var installed = Path.Combine(Folder, "node_modules", ".package-lock.json");
            var current = File.Exists(installed)
                && File.GetLastWriteTimeUtc(installed) >= File.GetLastWriteTimeUtc(Path.Combine(Folder, "package-lock.json"));
            if (!current)
            {
                await CommandRunner.RunCheckedAsync(new Command(npm, ["ci", "--no-audit", "--no-fund"]) { WorkingDirectory = Folder },
                    cancellationToken, timeout: TimeSpan.FromMinutes(5));
            }
        }
        finally
        {
            Install.Release();
        }
        return new KubernetesValidator(node);
    }

    public Task<CommandResult> ValidateAsync(IEnumerable<string> files, CancellationToken cancellationToken) =>
        CommandRunner.RunAsync(new Command(_node, ["validate.mjs", .. files]) { WorkingDirectory = Folder },
            cancellationToken, timeout: TimeSpan.FromMinutes(2));
}
