using System.Diagnostics;
using System.Globalization;
using Docker.DotNet.Models;
using Quartet.Deploy.Tests.Compose;
using Quartet.StandIns;

namespace Quartet.Deploy.Tests.Swarm;

/// <summary>
/// deploy/swarm/quartet.stack.yaml deployed as the runbook (docs/operations.md#docker-swarm) says,
/// on a one-node swarm inside a <see cref="SwarmNode"/>: the compose suite's images copied into the
/// node, <c>docker swarm init</c>, the data label, secrets from scripts/generate-secrets.sh, then
/// <c>./quartet swarm deploy</c>, every command through the Docker CLI with DOCKER_HOST on the node.
/// A step that fails is kept and reported by the tests; the node goes, with all it holds, at the end.
/// </summary>
public sealed class SwarmStack(ComposeSuite suite) : IAsyncLifetime
{
    public const string StackName = "quartet";

    /// <summary>nginx's port, published on the node's own address (mode: host).</summary>
    public const int PublicPort = 8080;

    public const int Replicas = 3;

    /// <summary>The relay's login the stack is deployed with: its password is a Swarm secret.</summary>
    public const string SmtpUsername = "quartet-ci";

    private static readonly TimeSpan NodeStartLimit = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ImageLoadLimit = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DeployLimit = TimeSpan.FromMinutes(10);

    private readonly List<HttpClient> _clients = [];
    private StackUser? _user;

    public ComposeSuite Suite => suite;

    public SwarmNode? Node { get; private set; }

    /// <summary>Why the stack is not up: the step that failed and what it said; null when it is.</summary>
    public string? Failure { get; private set; }

    /// <summary>How long each step took, for the report.</summary>
    public List<string> Timings { get; } = [];

    public HostCommandResult? Deploy { get; private set; }

    /// <summary>The backend image the stack is deployed with first: the previous release's.</summary>
    public PreviousReleaseImage? Previous { get; private set; }

    public string SecretsDirectory => Path.Combine(suite.Work, "swarm-secrets");

    public string AdminPasswordFile => Path.Combine(suite.Work, "admin_password_swarm");

    public string PublicUrl => $"http://{Node?.Address}:{PublicPort}";

    public async ValueTask InitializeAsync()
    {
        if (!suite.ImagesBuilt || suite.StandIns is not { } standIns)
        {
            return;
        }
        var cancellationToken = TestContext.Current.CancellationToken;
        try
        {
            var nodeImage = await TimedAsync("the node image (ci/images/swarm-node)", () =>
                new StandInBuilder(suite.Docker, suite.Root, suite.LogDirectory, suite.Say).SwarmNodeAsync(standIns.Debian, cancellationToken));
            Node = await TimedAsync("the node's engine",
                () => SwarmNode.StartAsync(suite.Docker, nodeImage, $"{ComposeSuite.Project}-swarm-node", suite.Log, NodeStartLimit, cancellationToken));
            await CheckedAsync("the production stack's postgres and backup images", () => DataImagesAsync(cancellationToken));
            // The stack starts on the previous release, with its migrations, and the rolling update takes it to this checkout's.
            Previous = await TimedAsync("the previous release's backend image", () => suite.PreviousBackendAsync(cancellationToken));
            string[] images = [standIns.Redis, standIns.Node, Previous.Image, ComposeSuite.BackendImage, ComposeSuite.WebImage, ComposeSuite.DatabaseImage, ComposeSuite.BackupImage];
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                limit.CancelAfter(ImageLoadLimit);
                await TimedAsync($"docker save | docker load of {string.Join(", ", images)}", async () =>
                {
                    try
                    {
                        await Node.LoadImagesAsync(images, limit.Token);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw new TimeoutException($"copying the images into the swarm node took longer than {ImageLoadLimit.TotalMinutes:0} min");
                    }
                    return true;
                });
            }
            Directory.CreateDirectory(SecretsDirectory);
            // A relay that needs a login, so the stack carries the smtp_password secret (deploy/swarm/smtp-login.stack.yaml).
            var smtpPassword = Path.Combine(suite.Work, "smtp_password_swarm");
            await File.WriteAllTextAsync(smtpPassword, $"ci-smtp-{Guid.NewGuid():N}\n", cancellationToken);
            await CheckedAsync("scripts/generate-secrets.sh", () => suite.GenerateSecretsAsync(SecretsDirectory, AdminPasswordFile, cancellationToken, smtpPassword));
            await CheckedAsync("docker swarm init", () => CliAsync(["docker", "swarm", "init", "--advertise-addr", Node.Address], TimeSpan.FromMinutes(1), cancellationToken));
            await CheckedAsync("docker node update --label-add quartet.data=true", () =>
                CliAsync(["docker", "node", "update", "--label-add", "quartet.data=true", Node.Name], TimeSpan.FromMinutes(1), cancellationToken));
            Deploy = await CheckedAsync("./quartet swarm deploy", () => QuartetDeployAsync(Previous.Image, cancellationToken));
        }
        catch (Exception e) when (e is StepFailed or InvalidOperationException or TimeoutException or StandInException or Docker.DotNet.DockerApiException)
        {
            Failure ??= e.Message;
            suite.Say($"swarm: {Failure}");
        }
    }

    /// <summary>The stack is up; else the test fails with the step that did not work.</summary>
    public void RequireUp()
    {
        suite.RequireImages();
        Assert.True(Failure is null && Deploy is { Succeeded: true }, $"the Swarm stack is not up: {Failure ?? "not attempted"} (log: {suite.Log.Path})");
    }

    /// <summary>The operator's settings: the suite's (images, mail relay, subnet), the node's address, DOCKER_HOST on the node.</summary>
    public Dictionary<string, string?> Environment(string backendImage)
    {
        var environment = suite.Environment(PublicPort);
        environment["DOCKER_HOST"] = Node?.DockerHost;
        // Debian's own CLI (20.10) when it is there, as on the node: the CLI a Debian 12 host runs.
        if (File.Exists("/usr/bin/docker"))
        {
            environment["PATH"] = "/usr/bin:" + System.Environment.GetEnvironmentVariable("PATH");
        }
        environment["QUARTET_STACK"] = StackName;
        // Unencrypted here, so the containers' plain path runs too (the compose production stack's are encrypted).
        environment["QUARTET_BACKUP_ENCRYPTION"] = "off";
        environment["QUARTET_SECRETS_DIR"] = SecretsDirectory;
        environment["QUARTET_BACKEND_IMAGE"] = backendImage;
        environment["QUARTET_SMTP_USERNAME"] = SmtpUsername;
        environment["QUARTET_BACKEND_REPLICAS"] = Replicas.ToString(CultureInfo.InvariantCulture);
        // The site's host is the node's address: nginx serves it, the backend allows it.
        environment["QUARTET_PUBLIC_URL"] = PublicUrl;
        return environment;
    }

    public Task<HostCommandResult> QuartetDeployAsync(string backendImage, CancellationToken cancellationToken) =>
        suite.RunAsync([Path.Combine(suite.Root, "quartet"), "swarm", "deploy"], Environment(backendImage), DeployLimit, cancellationToken);

    /// <summary><c>./quartet swarm ARGS...</c> as the operator runs it, on the current backend image.</summary>
    public Task<HostCommandResult> QuartetSwarmAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        CliAsync([Path.Combine(suite.Root, "quartet"), "swarm", .. arguments], DeployLimit, cancellationToken);

    /// <summary>
    /// PostgreSQL with pgBackRest and the backup tool: the images the production compose stack runs
    /// (<see cref="ComposeSuite.DatabaseImage"/>, <see cref="ComposeSuite.BackupImage"/>), built by its
    /// compose files only when this run has not built them yet.
    /// </summary>
    private async Task<HostCommandResult> DataImagesAsync(CancellationToken cancellationToken)
    {
        var present = await suite.Docker.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["reference"] = new Dictionary<string, bool> { [ComposeSuite.DatabaseImage] = true, [ComposeSuite.BackupImage] = true },
            },
        }, cancellationToken);
        var tags = present.SelectMany(i => i.RepoTags ?? []).ToHashSet();
        return tags.Contains(ComposeSuite.DatabaseImage) && tags.Contains(ComposeSuite.BackupImage)
            ? new HostCommandResult("docker image ls", 0, "both images are there")
            : await suite.ComposeAsync(production: true, Ports.Free(), ["build", "postgres", "backup"], cancellationToken);
    }

    public Task<HostCommandResult> CliAsync(IReadOnlyList<string> argv, TimeSpan limit, CancellationToken cancellationToken) =>
        suite.RunAsync(argv, Environment(ComposeSuite.BackendImage), limit, cancellationToken);

    /// <summary>A client of nginx's published port on the node that keeps its cookies.</summary>
    public (HttpClient Client, CookieKeeper Cookies) NewClient()
    {
        var cookies = new CookieKeeper();
        var client = new HttpClient(cookies) { BaseAddress = new Uri(PublicUrl), Timeout = TimeSpan.FromSeconds(15) };
        lock (_clients)
        {
            _clients.Add(client);
        }
        return (client, cookies);
    }

    public async Task<StackUser> UserAsync()
    {
        if (_user is null)
        {
            var (client, cookies) = NewClient();
            _user = await StackUser.CreateAsync(client, cookies, "ci-swarm", suite.Log);
        }
        return _user;
    }

    /// <summary>The running containers of one of the stack's services, on the node's engine.</summary>
    public async Task<IList<ContainerListResponse>> ContainersAsync(string service, CancellationToken cancellationToken)
    {
        var engine = Node?.Engine ?? throw new InvalidOperationException("the swarm node is not started");
        return await engine.Containers.ListContainersAsync(new ContainersListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"com.docker.swarm.service.name={StackName}_{service}"] = true },
            },
        }, cancellationToken);
    }

    private async Task<T> TimedAsync<T>(string step, Func<Task<T>> run)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            return await run();
        }
        finally
        {
            Timings.Add($"{step}: {clock.Elapsed.TotalSeconds:0.0} s");
            suite.Say($"swarm: {step} took {clock.Elapsed.TotalSeconds:0.0} s");
        }
    }

    private Task<HostCommandResult> CheckedAsync(string step, Func<Task<HostCommandResult>> run) => TimedAsync(step, async () =>
    {
        var result = await run();
        return result.Succeeded ? result : throw new StepFailed($"{step} exited with {result.ExitCode}\n{result.Tail(20)}");
    });

    public async ValueTask DisposeAsync()
    {
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }
        if (Node is not null)
        {
            await Node.DisposeAsync();
        }
    }

    private sealed class StepFailed(string message) : Exception(message);
}
