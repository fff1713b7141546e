using System.Globalization;
using Quartet.Stack;

namespace Quartet.Cli.Bench;

/// <summary>
/// The Node.js comparison: bench/node-fastify on the same PostgreSQL, Redis and session secret (so the
/// benchmark's session works there too), behind a second nginx rendered from the same template.
/// Disposing it stops both.
/// </summary>
internal sealed class NodeComparison : IAsyncDisposable
{
    private readonly NodeService _node;
    private readonly NginxServer _nginx;

    private NodeComparison(NodeService node, NginxServer nginx)
    {
        _node = node;
        _nginx = nginx;
    }

    /// <summary>Where the benchmark loads the Node.js service: its nginx.</summary>
    public string Url => _nginx.BaseAddress.ToString().TrimEnd('/');

    /// <summary>The service's processes (its cluster of workers) and its nginx, for the CPU figures.</summary>
    public (int? Service, int? Nginx) Pids => (_node.Pid, _nginx.Pid);

    public static async Task<NodeComparison> StartAsync(Cli cli, NativeStack stack, string folder, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(cli.Root, "bench", "node-fastify");
        await InstallAsync(cli, directory, folder, cancellationToken);
        var node = new NodeService(directory, ServiceEnvironment(stack), Ports.Free(), folder) { StartTimeout = TimeSpan.FromSeconds(20) };
        var nginx = SecondServers.Nginx(stack, folder, "node", node.Port);
        var comparison = new NodeComparison(node, nginx);
        try
        {
            await SecondServers.StartAsync(node, "the Node.js service", cancellationToken);
            await SecondServers.StartAsync(nginx, "a second nginx (node)", cancellationToken);
        }
        catch
        {
            await comparison.DisposeAsync();
            throw;
        }
        cli.Say($"bench: Node.js service (pid {node.Pid}) behind nginx at {comparison.Url}");
        return comparison;
    }

    public async ValueTask DisposeAsync()
    {
        await _nginx.DisposeAsync();
        await _node.DisposeAsync();
    }

    /// <summary>`npm ci` unless node_modules matches the lock file already.</summary>
    private static async Task InstallAsync(Cli cli, string directory, string folder, CancellationToken cancellationToken)
    {
        var installed = Path.Combine(directory, "node_modules", ".package-lock.json");
        if (File.Exists(installed) && File.GetLastWriteTimeUtc(installed) >= File.GetLastWriteTimeUtc(Path.Combine(directory, "package-lock.json")))
        {
            return;
        }
        cli.Say("bench: installing the Node.js service's packages");
        var npm = Tools.Find(null, "npm", "npm (apt-get install npm)");
        var result = await CommandRunner.RunAsync(new Command(npm, ["ci", "--no-audit", "--no-fund"]) { WorkingDirectory = directory }, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(folder, "npm.log"), result.Output + result.Error, cancellationToken);
        if (!result.Succeeded)
        {
            var tail = string.Join('\n', (result.Output + result.Error).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(15));
            throw new StackException($"bench: npm ci failed in bench/node-fastify:\n{tail}");
        }
    }

    private static Dictionary<string, string?> ServiceEnvironment(NativeStack stack) => new()
    {
        ["PGHOST"] = "127.0.0.1",
        ["PGPORT"] = stack.Settings.PostgresPort.ToString(CultureInfo.InvariantCulture),
        ["PGDATABASE"] = NativeStack.Database,
        ["PGUSER"] = "quartet_app",
        ["PGPASSWORD_FILE"] = stack.Secrets.PathOf("db_app_password"),
        ["REDIS_ENDPOINT"] = $"127.0.0.1:{stack.Settings.RedisPort}",
        ["REDIS_USERNAME"] = RedisServer.AppUser,
        ["REDIS_PASSWORD_FILE"] = stack.Secrets.PathOf("redis_password"),
        ["SESSION_SECRET_FILE"] = stack.Secrets.PathOf("session_secret"),
    };

    /// <summary>`node server.js` (a cluster: one worker per core), ready when /health/live answers.</summary>
    private sealed class NodeService(string directory, Dictionary<string, string?> environment, int port, string folder)
        : ServerProcess("node", port, folder, folder)
    {
        private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

        protected override string CommandLineMarker => "server.js";

        protected override Command StartCommand() => new(Tools.Find(null, "node", "nodejs (apt-get install nodejs)"), ["server.js"])
        {
            WorkingDirectory = directory,
            Environment = new Dictionary<string, string?>(environment) { ["PORT"] = Port.ToString(CultureInfo.InvariantCulture) },
        };

        public override async Task<bool> AnswersAsync(CancellationToken cancellationToken)
        {
            try
            {
                using var response = await Http.GetAsync(new Uri($"http://127.0.0.1:{Port}/health/live"), cancellationToken);
                return response.IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }
    }
}
