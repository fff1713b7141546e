using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using Quartet.Deploy.Tests.Compose;

namespace Quartet.Deploy.Tests.Swarm;

/// <summary>
/// One Docker engine in a container on the host's engine, to be a Swarm node: Debian's dockerd
/// (ci/images/swarm-node) on an internal bridge network of its own, its API on that network only
/// (tcp 2375, no TLS), its storage in a volume. The host refuses <c>--privileged</c> (no
/// CAP_SYS_RESOURCE), so the node gets every other capability, no seccomp or AppArmor profile,
/// unmasked /proc and /sys, and every device; node-start.sh makes /sys and the cgroups writable.
/// Everything it creates carries its name and is removed by <see cref="DisposeAsync"/>.
/// </summary>
public sealed class SwarmNode : IAsyncDisposable
{
    public const int ApiPort = 2375;

    private readonly IDockerClient _host;
    private readonly ComposeLog _log;
    private bool _networkCreated;
    private bool _volumeCreated;
    private string? _containerId;

    private SwarmNode(IDockerClient host, string name, ComposeLog log)
    {
        _host = host;
        _log = log;
        Name = name;
    }

    /// <summary>The container, its network and volume, and the node's hostname in the swarm.</summary>
    public string Name { get; }

    /// <summary>The node's address on its private network: its engine's API and the stack's published port.</summary>
    public string Address { get; private set; } = "";

    /// <summary>A client of the node's engine.</summary>
    public DockerClient? Engine { get; private set; }

    /// <summary>DOCKER_HOST for the Docker CLI on this host, addressing the node's engine.</summary>
    public string DockerHost => $"tcp://{Address}:{ApiPort}";

    /// <summary>Starts the node from <paramref name="image"/> and waits (at most <paramref name="limit"/>) until its engine answers.</summary>
    public static async Task<SwarmNode> StartAsync(IDockerClient host, string image, string name, ComposeLog log, TimeSpan limit, CancellationToken cancellationToken)
    {
        var node = new SwarmNode(host, name, log);
        try
        {
            await node.StartAsync(image, limit, cancellationToken);
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync(string image, TimeSpan limit, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, string> { ["quartet.ci.swarm-node"] = Name };
        await RemoveLeftoversAsync(cancellationToken);
        // Internal: the host reaches the node, the node reaches nothing beyond this network. Docker
        // picks the subnet from its own pools, clear of every network it already has.
        await _host.Networks.CreateNetworkAsync(new NetworksCreateParameters { Name = Name, Internal = true, Labels = labels }, cancellationToken);
        _networkCreated = true;
        await _host.Volumes.CreateAsync(new VolumesCreateParameters { Name = Name, Labels = labels }, cancellationToken);
        _volumeCreated = true;
        var created = await _host.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = Name,
            Hostname = Name,
            Image = image,
            Labels = labels,
            HostConfig = new HostConfig
            {
                NetworkMode = Name,
                CapAdd = ["ALL"],
                CapDrop = ["SYS_RESOURCE"],
                SecurityOpt = ["seccomp=unconfined", "apparmor=unconfined"],
                // --security-opt systempaths=unconfined, as the CLI sends it: nothing masked or read-only in /proc and /sys.
                MaskedPaths = [],
                ReadonlyPaths = [],
                DeviceCgroupRules = ["a *:* rwm"],
                Mounts = [new Mount { Type = "volume", Source = Name, Target = "/var/lib/docker" }],
            },
        }, cancellationToken);
        _containerId = created.ID;
        await _host.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), cancellationToken);
        var inspect = await _host.Containers.InspectContainerAsync(created.ID, cancellationToken);
        Address = inspect.NetworkSettings.Networks[Name].IPAddress;
        Engine = new DockerClientConfiguration(new Uri(DockerHost)).CreateClient();
        _log.Say($"swarm node {Name} ({created.ID[..12]}) at {Address}; waiting for its engine");

        var clock = Stopwatch.StartNew();
        while (!await DockerDaemon.AnswersAsync(Engine, cancellationToken))
        {
            var state = (await _host.Containers.InspectContainerAsync(created.ID, cancellationToken)).State;
            if (!state.Running || clock.Elapsed > limit)
            {
                throw new InvalidOperationException($"the swarm node's engine did not answer at {DockerHost} within {limit.TotalSeconds:0} s " +
                    $"(container {state.Status}, exit {state.ExitCode}); its log ends:\n{await LogTailAsync(cancellationToken)}");
            }
            await Task.Delay(500, cancellationToken);
        }
        _log.Say($"the node's engine answers after {clock.Elapsed.TotalSeconds:0} s");
    }

    /// <summary>
    /// Copies images from the host's engine into the node's: <c>docker save</c> streamed straight into
    /// <c>docker load</c>, nothing written to disk on the way; layers the images share go once.
    /// </summary>
    public async Task LoadImagesAsync(IReadOnlyList<string> images, CancellationToken cancellationToken)
    {
        var engine = Engine ?? throw new InvalidOperationException("the node is not started");
        await using var saved = await _host.Images.SaveImagesAsync([.. images], cancellationToken);
        var progress = new LoadProgress();
        await engine.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, saved, progress, cancellationToken);
        if (progress.Error is { } error)
        {
            throw new InvalidOperationException($"docker load into the swarm node failed: {error}");
        }
        var missing = new List<string>();
        foreach (var image in images)
        {
            try
            {
                await engine.Images.InspectImageAsync(image, cancellationToken);
            }
            catch (DockerImageNotFoundException)
            {
                missing.Add(image);
            }
        }
        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"after docker load the swarm node lacks {string.Join(", ", missing)}");
        }
    }

    public async Task<string> LogTailAsync(CancellationToken cancellationToken)
    {
        if (_containerId is null)
        {
            return "";
        }
        using var stream = await _host.Containers.GetContainerLogsAsync(_containerId, tty: false,
            new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Tail = "20" }, cancellationToken);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(cancellationToken);
        return stdout + stderr;
    }

    /// <summary>A node of the same name from a run that was killed before it could clean up.</summary>
    private async Task RemoveLeftoversAsync(CancellationToken cancellationToken)
    {
        var old = await _host.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"quartet.ci.swarm-node={Name}"] = true } },
        }, cancellationToken);
        foreach (var container in old)
        {
            _log.Say($"removing the swarm node {container.ID[..12]} a previous run left");
            await _host.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
        }
        if ((await _host.Networks.ListNetworksAsync(new NetworksListParameters(), cancellationToken)).Any(n => n.Name == Name))
        {
            await _host.Networks.DeleteNetworkAsync(Name, cancellationToken);
        }
        if ((await _host.Volumes.ListAsync(cancellationToken)).Volumes?.Any(v => v.Name == Name) == true)
        {
            await _host.Volumes.RemoveAsync(Name, force: true, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Engine?.Dispose();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        if (_containerId is not null)
        {
            // The inner engine's containers die with it; its images and volumes are in the volume below.
            await _host.Containers.RemoveContainerAsync(_containerId, new ContainerRemoveParameters { Force = true }, limit.Token);
            _log.Say($"removed the swarm node {Name}");
        }
        if (_networkCreated)
        {
            await _host.Networks.DeleteNetworkAsync(Name, limit.Token);
        }
        if (_volumeCreated)
        {
            await _host.Volumes.RemoveAsync(Name, force: true, limit.Token);
        }
    }

    private sealed class LoadProgress : IProgress<JSONMessage>
    {
        public string? Error { get; private set; }

        public void Report(JSONMessage value)
        {
            if (value.Error is not null || !string.IsNullOrEmpty(value.ErrorMessage))
            {
                Error ??= value.Error?.Message ?? value.ErrorMessage;
            }
        }
    }
}
