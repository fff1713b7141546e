using System.Security.Cryptography;
using Docker.DotNet;
using Docker.DotNet.Models;
using Quartet.StandIns;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// What every compose test shares, made once: a Docker engine (dockerd started when none answers),
/// CI's stand-in images, the backend and web images built on them, the settings an operator would
/// export, and a folder for secrets and state. A step that fails is kept and reported by the test
/// that checks it; the tests after it fail with that reason instead of repeating the work.
/// </summary>
public sealed class ComposeSuite : IAsyncLifetime
{
    /// <summary>QUARTET_TEST_COMPOSE_PROJECT names another project, so two checkouts can run the suite side by side.</summary>
    public static readonly string Project = System.Environment.GetEnvironmentVariable("QUARTET_TEST_COMPOSE_PROJECT") is { Length: > 0 } name
        ? name : "quartet-ci";
    public static readonly string BackendImage = $"{Project}/backend:latest";
    public static readonly string WebImage = $"{Project}/web:latest";
    public static readonly string DatabaseImage = $"{Project}/postgres:latest";
    public static readonly string BackupImage = $"{Project}/backup:latest";

    /// <summary>The production stack's backups: outside the project, so `down -v` keeps them; removed when the suite ends.</summary>
    public static readonly string BackupVolume = $"{Project}-backups";
    public const string AdminEmail = "admin@quartet.localhost";

    private static readonly TimeSpan ComposeTimeout = TimeSpan.FromMinutes(15);

    private DockerDaemon? _startedDaemon;
    private string? _engineFailure;
    private string? _standInFailure;

    public ComposeSuite()
    {
        Root = FindRoot();
        LogDirectory = Path.Combine(Root, ".quartet", "logs");
        Log = new ComposeLog(Path.Combine(LogDirectory, "test-compose.log"));
        Work = Directory.CreateTempSubdirectory("quartet-compose-").FullName;
        SecretsDirectory = Path.Combine(Work, "secrets");
        StateDirectory = Path.Combine(Work, "state");
        EmptyEnvFile = Path.Combine(Work, "empty.env");
        Directory.CreateDirectory(SecretsDirectory);
        Directory.CreateDirectory(StateDirectory);
        Directory.CreateDirectory(LogDirectory);
        Directory.CreateDirectory(PluginFreeDockerConfig);
        File.WriteAllText(EmptyEnvFile, "");
        Docker = Engine.Connect();
    }

    /// <summary>The checkout: compose files, ./quartet, scripts/, ci/images/.</summary>
    public string Root { get; }

    public string LogDirectory { get; }

    public ComposeLog Log { get; }

    /// <summary>The suite's own folder (secrets, ./quartet's state, the empty env file); removed at the end.</summary>
    public string Work { get; }

    public string SecretsDirectory { get; }

    public string StateDirectory { get; }

    /// <summary>Passed as the env file, so a developer's .env or .env.production stays out of the run.</summary>
    public string EmptyEnvFile { get; }

    public DockerClient Docker { get; }

    /// <summary>Why the suite cannot run on this machine (a tool is not installed), or null.</summary>
    public string? Missing { get; private set; }

    public StandInImages? StandIns { get; private set; }

    /// <summary>A /24 in 172.16.0.0/16, outside Docker's default pools, that no network uses.</summary>
    public string FrontendSubnet { get; private set; } = "";

    /// <summary>
    /// <c>docker compose</c> (v2): the host's plugin when the Docker CLI has one, else Debian 13's
    /// plugin fetched into <see cref="PluginDockerConfig"/>. <c>docker-compose</c> (v1) only when
    /// neither is there (<see cref="ComposeV2Failure"/> says why).
    /// </summary>
    public IReadOnlyList<string> ComposeCli { get; private set; } = ["docker-compose"];

    /// <summary>What <c>compose version --short</c> printed for <see cref="ComposeCli"/>.</summary>
    public string ComposeVersion { get; private set; } = "";

    /// <summary>
    /// The DOCKER_CONFIG folder holding the fetched v2 plugin, passed to every command the suite runs
    /// (so ./quartet picks v2 as a user's Docker CLI would); null when the host's CLI has the plugin itself.
    /// Kept under .quartet/ between runs.
    /// </summary>
    public string? PluginDockerConfig { get; private set; }

    /// <summary>Why compose v2 could not be set up, or null.</summary>
    public string? ComposeV2Failure { get; private set; }

    /// <summary>A DOCKER_CONFIG with no plugins: the Docker CLI has no <c>compose</c> command there, so ./quartet picks v1.</summary>
    public string PluginFreeDockerConfig => Path.Combine(Work, "docker-v1");

    /// <summary><c>compose build</c> of the backend and web images, once the stand-ins are there.</summary>
    public HostCommandResult? AppImagesBuild { get; private set; }

    /// <summary>No engine answered, so the suite started dockerd (and stops it at the end).</summary>
    public bool StartedDockerd => _startedDaemon is not null;

    /// <summary>What the suite's setup did, for the test that reports it.</summary>
    public List<string> Transcript { get; } = [];

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        Missing = await MissingToolsAsync(cancellationToken);
        if (Missing is not null)
        {
            Say($"cannot run: {Missing}");
            return;
        }
        try
        {
            _startedDaemon = await DockerDaemon.EnsureAsync(Docker, Path.Combine(LogDirectory, "dockerd.log"), Log, cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            _engineFailure = e.Message;
            Say(e.Message);
            return;
        }

        try
        {
            Say("building or reusing the stand-in images (ci/images)");
            StandIns = await new StandInBuilder(Docker, Root, LogDirectory, Say).BuildAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _standInFailure = e.Message;
            Say($"stand-in images: {e.Message}");
            return;
        }

        FrontendSubnet = await FreeSubnetAsync(cancellationToken);
        Say($"project {Project}, frontend subnet {FrontendSubnet}, work folder {Work}");
        AppImagesBuild = await ComposeAsync(production: false, Ports.Free(), ["build"], cancellationToken);
    }

    public bool ImagesBuilt => AppImagesBuild is { Succeeded: true };

    private readonly Lock _previousLock = new();
    private Task<PreviousReleaseImage>? _previous;

    /// <summary>
    /// The previous release's backend image, built at the first ask (the compose rolling upgrade) and
    /// shared with the Swarm one; a failed build is kept and reported to each.
    /// </summary>
    public Task<PreviousReleaseImage> PreviousBackendAsync(CancellationToken cancellationToken)
    {
        RequireImages();
        lock (_previousLock)
        {
            return _previous ??= PreviousReleaseImage.BuildAsync(this, cancellationToken);
        }
    }

    /// <summary>
    /// scripts/generate-secrets.sh as an operator runs it without a terminal: the admin password from
    /// the file QUARTET_ADMIN_PASSWORD_FILE names (written here when missing), the hash from the
    /// backend image.
    /// </summary>
    public async Task<HostCommandResult> GenerateSecretsAsync(string secretsDirectory, string adminPasswordFile, CancellationToken cancellationToken,
        string? smtpPasswordFile = null)
    {
        if (!File.Exists(adminPasswordFile))
        {
            await File.WriteAllTextAsync(adminPasswordFile, $"ci-admin-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}\n", cancellationToken);
        }
        var environment = Environment(80);
        environment["QUARTET_SECRETS_DIR"] = secretsDirectory;
        environment["QUARTET_ADMIN_PASSWORD_FILE"] = adminPasswordFile;
        environment["QUARTET_SMTP_PASSWORD_FILE"] = smtpPasswordFile;
        return await RunAsync([Path.Combine(Root, "scripts", "generate-secrets.sh")], environment, TimeSpan.FromMinutes(5), cancellationToken);
    }

    /// <summary>Skips (or, on CI, fails) a test when the tools are missing.</summary>
    public void RequireTools()
    {
        if (Missing is null)
        {
            return;
        }
        if (System.Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail($"the compose tests need {Missing}");
        }
        Assert.Skip($"the compose tests need {Missing}");
    }

    public void RequireEngine()
    {
        RequireTools();
        Assert.True(_engineFailure is null, $"no Docker engine: {_engineFailure}");
    }

    public void RequireStandIns()
    {
        RequireEngine();
        Assert.True(StandIns is not null, $"the stand-in images did not build: {_standInFailure}");
    }

    /// <summary>Everything a stack needs: the engine, the stand-ins and the backend and web images.</summary>
    public void RequireImages()
    {
        RequireStandIns();
        Assert.True(AppImagesBuild is { Succeeded: true },
            $"`compose build` of the backend and web images exited with {AppImagesBuild?.ExitCode} (log: {Log.Path})\n{AppImagesBuild?.Tail()}");
    }

    /// <summary>
    /// The settings an operator exports for compose mode, here pointing at the suite's project, port,
    /// subnet, stand-ins, secrets and state; nothing of the caller's own stack leaks in.
    /// </summary>
    /// <summary>The development mail catcher's inbox port, one for the whole suite.</summary>
    public int MailPort { get; } = Ports.Free();

    public Dictionary<string, string?> Environment(int port)
    {
        var environment = new Dictionary<string, string?>
        {
            ["QUARTET_MODE"] = "compose",
            ["QUARTET_COMPOSE_PROJECT"] = Project,
            ["QUARTET_PUBLIC_ADDRESS"] = "127.0.0.1",
            ["QUARTET_PUBLIC_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["QUARTET_FRONTEND_SUBNET"] = FrontendSubnet,
            ["QUARTET_BACKEND_IMAGE"] = BackendImage,
            ["QUARTET_WEB_IMAGE"] = WebImage,
            ["QUARTET_DB_IMAGE"] = DatabaseImage,
            ["QUARTET_BACKUP_IMAGE"] = BackupImage,
            ["QUARTET_BACKUP_VOLUME"] = BackupVolume,
            // The production stack's backups are encrypted (decision 0031); the Swarm stack's are not, so both run.
            ["QUARTET_BACKUP_ENCRYPTION"] = "on",
            ["QUARTET_SECRETS_DIR"] = SecretsDirectory,
            ["QUARTET_ENV_FILE"] = EmptyEnvFile,
            ["ADMIN_EMAIL"] = AdminEmail,
            ["QUARTET_STATE_DIR"] = StateDirectory,
            ["QUARTET_SECRETS_GID"] = null,
            ["QUARTET_PROD"] = null,
            ["QUARTET_ADMIN_PASSWORD_FILE"] = null,
            ["QUARTET_MAIL_PORT"] = MailPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Production needs a relay; none answers here, so its mails wait in the outbox and are retried.
            ["QUARTET_SMTP_HOST"] = "smtp.example.test",
            ["QUARTET_MAIL_FROM"] = "Quartet <no-reply@example.test>",
            ["QUARTET_PUBLIC_URL"] = $"http://127.0.0.1:{port}",
            // Unset: ./quartet up --prod serves the host of QUARTET_PUBLIC_URL.
            ["QUARTET_SERVER_NAMES"] = null,
        };
        if (PluginDockerConfig is not null)
        {
            environment["DOCKER_CONFIG"] = PluginDockerConfig;
        }
        foreach (var (name, image) in StandIns?.Variables ?? new Dictionary<string, string>())
        {
            environment[name] = image;
        }
        return environment;
    }

    /// <summary>The compose CLI on the suite's project: compose.yaml, plus compose.prod.yaml for production.</summary>
    public Task<HostCommandResult> ComposeAsync(bool production, int port, IEnumerable<string> arguments, CancellationToken cancellationToken,
        IReadOnlyList<string>? composeCli = null)
    {
        List<string> argv = [.. composeCli ?? ComposeCli, "-p", Project, "--env-file", EmptyEnvFile, "-f", Path.Combine(Root, "compose.yaml")];
        if (production)
        {
            argv.AddRange(["-f", Path.Combine(Root, "compose.prod.yaml")]);
        }
        argv.AddRange(arguments);
        var environment = Environment(port);
        if (production)
        {
            // What ./quartet up --prod derives from QUARTET_PUBLIC_URL, and compose.prod.yaml requires.
            environment["QUARTET_SERVER_NAMES"] = "127.0.0.1";
        }
        return RunAsync(argv, environment, ComposeTimeout, cancellationToken);
    }

    public Task<HostCommandResult> RunAsync(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout, CancellationToken cancellationToken) =>
        HostCommand.RunAsync(argv, environment, Root, Log, timeout, cancellationToken);

    /// <summary>The project's containers (stopped ones too), by service.</summary>
    public async Task<IList<ContainerListResponse>> ContainersAsync(CancellationToken cancellationToken, bool all = true) =>
        await Docker.Containers.ListContainersAsync(new ContainersListParameters { All = all, Filters = ProjectFilter() }, cancellationToken);

    public static Dictionary<string, IDictionary<string, bool>> ProjectFilter() =>
        new() { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={Project}"] = true } };

    public void Say(string line)
    {
        lock (Transcript)
        {
            Transcript.Add(line);
        }
        Log.Say(line);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Missing is null && _engineFailure is null && await DockerDaemon.AnswersAsync(Docker, CancellationToken.None))
            {
                // The development files name every container and network the production ones do; the volumes
                // only production declares (backup-scratch) and the external backups volume go by name.
                await ComposeAsync(production: false, 80, ["down", "-v", "--remove-orphans", "--timeout", "10"], CancellationToken.None);
                var left = await Docker.Volumes.ListAsync(new VolumesListParameters { Filters = ProjectFilter() }, CancellationToken.None);
                foreach (var name in (left.Volumes ?? []).Select(v => v.Name).Append(BackupVolume))
                {
                    if ((await Docker.Volumes.ListAsync(CancellationToken.None)).Volumes?.Any(v => v.Name == name) == true)
                    {
                        await Docker.Volumes.RemoveAsync(name, force: true, CancellationToken.None);
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(Work, recursive: true);
            if (_startedDaemon is not null)
            {
                await _startedDaemon.DisposeAsync();
            }
            Docker.Dispose();
        }
    }

    private async Task<string?> MissingToolsAsync(CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        if (Tools.OnPath("dockerd") is null || Tools.OnPath("docker") is null)
        {
            missing.Add("docker.io (dockerd, docker)");
        }
        if (Tools.OnPath("docker") is not null)
        {
            await FindComposeV2Async(cancellationToken);
        }
        if (ComposeV2Failure is not null && Tools.OnPath("docker-compose") is null)
        {
            missing.Add("docker-compose (or the compose plugin)");
        }
        if (Tools.OnPath("debootstrap") is null)
        {
            missing.Add("debootstrap");
        }
        return missing.Count == 0 ? null : $"{string.Join(", ", missing)} installed (./quartet test installs them)";
    }

    /// <summary>The host's compose plugin, else Debian 13's fetched into .quartet/ci/docker; v1 stays when both fail.</summary>
    private async Task FindComposeV2Async(CancellationToken cancellationToken)
    {
        if (await ComposeV2VersionAsync(new Dictionary<string, string?>(), cancellationToken) is { } hostVersion)
        {
            (ComposeCli, ComposeVersion) = (["docker", "compose"], hostVersion);
            Say($"compose v2 {hostVersion}: the Docker CLI's own plugin");
            return;
        }
        var dockerConfig = Path.Combine(Root, ".quartet", "ci", "docker");
        try
        {
            await using var writer = new StreamWriter(Path.Combine(LogDirectory, "ci-compose-plugin.log"), append: false);
            await ComposePlugin.EnsureAsync(dockerConfig, writer, Say, cancellationToken);
        }
        catch (StandInException e)
        {
            ComposeV2Failure = $"fetching Debian {ComposePlugin.Suite}'s {ComposePlugin.Package} failed: {e.Message}";
            Say(ComposeV2Failure);
            return;
        }
        if (await ComposeV2VersionAsync(new Dictionary<string, string?> { ["DOCKER_CONFIG"] = dockerConfig }, cancellationToken) is not { } version)
        {
            ComposeV2Failure = $"the plugin in {dockerConfig} does not answer `docker compose version` (see {Log.Path})";
            Say(ComposeV2Failure);
            return;
        }
        (ComposeCli, ComposeVersion, PluginDockerConfig) = (["docker", "compose"], version, dockerConfig);
        Say($"compose v2 {version}: the plugin in {dockerConfig}");
    }

    private async Task<string?> ComposeV2VersionAsync(Dictionary<string, string?> environment, CancellationToken cancellationToken)
    {
        var result = await HostCommand.RunAsync(["docker", "compose", "version", "--short"], environment, Root, Log, TimeSpan.FromSeconds(20), cancellationToken);
        return result.Succeeded ? result.Output.Trim() : null;
    }

    /// <summary>A /24 for a frontend network that no network of the engine uses now.</summary>
    public async Task<string> FreeSubnetAsync(CancellationToken cancellationToken)
    {
        var networks = await Docker.Networks.ListNetworksAsync(new NetworksListParameters(), cancellationToken);
        var used = networks.SelectMany(n => n.IPAM?.Config ?? []).Select(c => c.Subnet).ToHashSet();
        for (var n = 201; n < 255; n++)
        {
            if (!used.Contains($"172.16.{n}.0/24"))
            {
                return $"172.16.{n}.0/24";
            }
        }
        throw new InvalidOperationException("no free /24 in 172.16.201.0-172.16.254.0 for the frontend network");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "compose.yaml")) && File.Exists(Path.Combine(dir.FullName, "quartet")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no checkout (compose.yaml and quartet) above {AppContext.BaseDirectory}");
    }
}
