using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Quartet.StandIns;

/// <summary>
/// Builds CI's stand-ins for the official images (no registry can be reached, so nothing is pulled):
/// a Debian bookworm root made by debootstrap and imported, then ci/images/&lt;name&gt;/Dockerfile on
/// top with the legacy builder. Each image is tagged <c>quartet-ci/&lt;name&gt;:&lt;hash of its inputs&gt;</c>
/// (the directory's files, the parent image's tag, and what the host lends it: the CA bundle, its
/// .NET, its Node.js); a tag that exists is reused and older tags of the same name are removed.
/// </summary>
/// <param name="docker">The engine the images are built on.</param>
/// <param name="repositoryRoot">The checkout, holding ci/images/.</param>
/// <param name="logDirectory">Where each image's build log goes (ci-image-&lt;name&gt;.log, ci-debootstrap.log).</param>
/// <param name="report">Receives one line per step.</param>
public sealed class StandInBuilder(IDockerClient docker, string repositoryRoot, string logDirectory, Action<string> report)
{
    private const string CaBundle = "/etc/ssl/certs/ca-certificates.crt";
    private const string Label = "quartet.ci.stand-in";

    /// <summary>The repository part of every tag.</summary>
    public string Repository { get; init; } = "quartet-ci";

    private string Images => Path.Combine(repositoryRoot, "ci", "images");

    public async Task<StandInImages> BuildAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(logDirectory);
        if (!File.Exists(CaBundle))
        {
            throw new StandInException($"{CaBundle} is missing (install ca-certificates); the stand-ins trust the host's CA bundle");
        }

        var rootfs = await RootfsAsync(cancellationToken);
        var baseImage = Tag("base", ContentHash.OfDirectory(Dir("base")), rootfs, ContentHash.OfStandardInput(CaBundle));
        await EnsureAsync("base", baseImage, new() { ["ROOTFS_IMAGE"] = rootfs }, context => context.Add(CaBundle, Path.GetFileName(CaBundle)), cancellationToken);

        var fromBase = new Dictionary<string, string> { ["BASE_IMAGE"] = baseImage };
        var postgres = Tag("postgres", ContentHash.OfDirectory(Dir("postgres")), baseImage);
        await EnsureAsync("postgres", postgres, fromBase, _ => { }, cancellationToken);
        var redis = Tag("redis", ContentHash.OfDirectory(Dir("redis")), baseImage);
        await EnsureAsync("redis", redis, fromBase, _ => { }, cancellationToken);
        var nginx = Tag("nginx-unprivileged", ContentHash.OfDirectory(Dir("nginx-unprivileged")), baseImage);
        await EnsureAsync("nginx-unprivileged", nginx, fromBase, _ => { }, cancellationToken);

        var (sdk, runtime) = await DotnetAsync(baseImage, cancellationToken);
        var node = await NodeAsync(baseImage, cancellationToken);
        return new StandInImages(postgres, redis, nginx, sdk, runtime, node, baseImage);
    }

    /// <summary>
    /// ci/images/swarm-node on the base stand-in (<see cref="StandInImages.Debian"/>): a container that
    /// runs Debian's Docker engine, for the Swarm test. Not part of <see cref="BuildAsync"/>: only that
    /// test needs it.
    /// </summary>
    public async Task<string> SwarmNodeAsync(string baseImage, CancellationToken cancellationToken)
    {
        var tag = Tag("swarm-node", ContentHash.OfDirectory(Dir("swarm-node")), baseImage);
        await EnsureAsync("swarm-node", tag, new() { ["BASE_IMAGE"] = baseImage }, _ => { }, cancellationToken);
        return tag;
    }

    /// <summary>The SDK and the ASP.NET Core runtime, copied from the host's dotnet folder.</summary>
    private async Task<(string Sdk, string Runtime)> DotnetAsync(string baseImage, CancellationToken cancellationToken)
    {
        var dotnet = HostProgram.RealPath("dotnet") ?? throw new StandInException("dotnet is not on PATH; the .NET stand-ins copy the host's .NET 10 SDK");
        var root = Path.GetDirectoryName(dotnet)!;
        if (!Directory.Exists(Path.Combine(root, "sdk")) || !Directory.Exists(Path.Combine(root, "shared", "Microsoft.AspNetCore.App")))
        {
            throw new StandInException($"the host's .NET at {root} has no sdk/ or ASP.NET Core runtime; the .NET stand-ins need both");
        }
        var name = Path.GetFileName(root);
        // One line per SDK or runtime, newlines turned into spaces (as `tr '\n' ' '` did).
        var sdks = (await HostProgram.OutputAsync("dotnet", ["--list-sdks"], cancellationToken)).Replace('\n', ' ');
        var runtimes = (await HostProgram.OutputAsync("dotnet", ["--list-runtimes"], cancellationToken)).Replace('\n', ' ');
        var withDotnet = new Dictionary<string, string> { ["BASE_IMAGE"] = baseImage, ["DOTNET_DIR"] = name };

        var sdk = Tag("dotnet-sdk", ContentHash.OfDirectory(Dir("dotnet-sdk")), baseImage, root, sdks, runtimes);
        await EnsureAsync("dotnet-sdk", sdk, withDotnet, context => context.Add(root, name), cancellationToken);

        var runtime = Tag("aspnet", ContentHash.OfDirectory(Dir("aspnet")), baseImage, root, runtimes);
        await EnsureAsync("aspnet", runtime, withDotnet, context =>
        {
            foreach (var part in new[] { "dotnet", "host", "shared/Microsoft.NETCore.App", "shared/Microsoft.AspNetCore.App" })
            {
                context.Add(Path.Combine(root, part), $"{name}/{part}");
            }
            foreach (var notice in new[] { "LICENSE.txt", "ThirdPartyNotices.txt" }.Where(n => File.Exists(Path.Combine(root, n))))
            {
                context.Add(Path.Combine(root, notice), $"{name}/{notice}");
            }
        }, cancellationToken);
        return (sdk, runtime);
    }

    /// <summary>The host's Node.js (20.19 or newer, what the web build needs) and its npm.</summary>
    private async Task<string> NodeAsync(string baseImage, CancellationToken cancellationToken)
    {
        var node = HostProgram.RealPath("node") ?? throw new StandInException("node is not on PATH; the node stand-in copies the host's Node.js (20.19 or newer)");
        var version = (await HostProgram.OutputAsync("node", ["--version"], cancellationToken)).TrimEnd('\n');
        if (!IsRecentEnough(version))
        {
            throw new StandInException($"the node stand-in copies the host's Node.js, which must be 20.19 or newer (found: {version})");
        }
        var npm = Path.Combine((await HostProgram.OutputAsync("npm", ["root", "-g"], cancellationToken)).TrimEnd('\n'), "npm");
        if (!File.Exists(Path.Combine(npm, "bin", "npm-cli.js")))
        {
            throw new StandInException($"npm not found next to the host's node ({npm}); the node stand-in needs it");
        }
        var npmVersion = (await HostProgram.OutputAsync("npm", ["--version"], cancellationToken)).TrimEnd('\n');
        var tag = Tag("node", ContentHash.OfDirectory(Dir("node")), baseImage, version, npmVersion);
        var arguments = new Dictionary<string, string> { ["BASE_IMAGE"] = baseImage, ["NODE_BIN"] = Path.GetFileName(node), ["NPM_DIR"] = "npm" };
        await EnsureAsync("node", tag, arguments, context => context.Add(node, Path.GetFileName(node)).Add(npm, "npm"), cancellationToken);
        return tag;
    }

    internal static bool IsRecentEnough(string nodeVersion)
    {
        var parts = nodeVersion.TrimStart('v').Split('.');
        return parts.Length >= 2 && int.TryParse(parts[0], out var major) && int.TryParse(parts[1], out var minor)
            && (major > 20 || (major == 20 && minor >= 19));
    }

    /// <summary>A minimal Debian bookworm root from the host's archive, imported as an image.</summary>
    private async Task<string> RootfsAsync(CancellationToken cancellationToken)
    {
        var mirror = DebianMirror.Find();
        var tag = Tag("rootfs", DebianMirror.Suite, "minbase", mirror);
        if (await ExistsAsync(tag, cancellationToken))
        {
            report($"reusing {tag}");
            return tag;
        }
        var debootstrap = HostProgram.OnPath("debootstrap") ?? throw new StandInException("debootstrap is missing (apt-get install debootstrap); the stand-ins start from a Debian root it makes");
        var log = Path.Combine(logDirectory, "ci-debootstrap.log");
        var root = Directory.CreateTempSubdirectory("quartet-rootfs.").FullName;
        var started = Stopwatch.StartNew();
        try
        {
            report($"debootstrap --variant=minbase {DebianMirror.Suite} from {mirror} (log: {log})");
            await using (var writer = new StreamWriter(log, append: false))
            {
                try
                {
                    await HostProgram.OutputAsync(debootstrap, ["--variant=minbase", DebianMirror.Suite, root, mirror], cancellationToken, writer, TimeSpan.FromMinutes(20));
                }
                catch (StandInException e)
                {
                    throw new StandInException($"debootstrap failed; see {log}\n{e.Message}");
                }
            }
            foreach (var deb in Directory.EnumerateFiles(Path.Combine(root, "var/cache/apt/archives"), "*.deb"))
            {
                File.Delete(deb);
            }
            var lists = new DirectoryInfo(Path.Combine(root, "var/lib/apt/lists"));
            foreach (var entry in lists.EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo directory && entry.LinkTarget is null)
                {
                    directory.Delete(recursive: true);
                }
                else
                {
                    entry.Delete();
                }
            }
            report($"importing the root as {tag}");
            var progress = new BuildProgress(log, append: true);
            await using (progress)
            {
                var (repository, version) = Split(tag);
                await TarStream.Of(root).SendAsync(input => docker.Images.CreateImageAsync(
                    new ImagesCreateParameters { FromSrc = "-", Repo = repository, Tag = version }, input, null, progress, cancellationToken), cancellationToken);
            }
            progress.ThrowIfFailed($"docker import of the Debian root failed; see {log}");
        }
        finally
        {
            await RemoveRootAsync(root);
        }
        report($"made {tag} in {started.Elapsed.TotalSeconds:0} s");
        await ForgetOldAsync("rootfs", tag, cancellationToken);
        return tag;
    }

    // debootstrap mounts /proc and /sys inside the root while it installs; one that failed may leave
    // them mounted, and a recursive delete must never walk into them.
    private static async Task RemoveRootAsync(string root)
    {
        var mounted = File.ReadAllLines("/proc/self/mounts")
            .Select(line => line.Split(' ')[1].Replace("\\040", " "))
            .Where(point => point.StartsWith(root + "/", StringComparison.Ordinal))
            .OrderByDescending(point => point.Length);
        foreach (var point in mounted)
        {
            await HostProgram.OutputAsync("umount", ["--lazy", point], CancellationToken.None);
        }
        Directory.Delete(root, recursive: true);
    }

    /// <summary>Builds ci/images/<paramref name="name"/> into <paramref name="tag"/> unless that tag exists.</summary>
    private async Task EnsureAsync(string name, string tag, Dictionary<string, string> buildArguments, Action<TarStream> addFromHost, CancellationToken cancellationToken)
    {
        if (await ExistsAsync(tag, cancellationToken))
        {
            report($"reusing {tag}");
            return;
        }
        var log = Path.Combine(logDirectory, $"ci-image-{name}.log");
        report($"building stand-in image {tag} (log: {log})");
        var started = Stopwatch.StartNew();
        var context = TarStream.Of(Dir(name));
        addFromHost(context);
        var parameters = new ImageBuildParameters
        {
            Tags = [tag],
            BuildArgs = buildArguments,
            Labels = new Dictionary<string, string> { [Label] = name },
            Remove = true,
            ForceRemove = true,
        };
        var progress = new BuildProgress(log, append: false);
        await using (progress)
        {
            await context.SendAsync(input => docker.Images.BuildImageFromDockerfileAsync(parameters, input, null, null, progress, cancellationToken), cancellationToken);
        }
        progress.ThrowIfFailed($"building the stand-in image {name} failed; see {log}");
        report($"built {tag} in {started.Elapsed.TotalSeconds:0} s");
        await ForgetOldAsync(name, tag, cancellationToken);
    }

    /// <summary>Removes the other tags of <c>quartet-ci/NAME</c> (older inputs); one still in use stays.</summary>
    private async Task ForgetOldAsync(string name, string keep, CancellationToken cancellationToken)
    {
        var repository = $"{Repository}/{name}";
        var images = await docker.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["reference"] = new Dictionary<string, bool> { [repository] = true } },
        }, cancellationToken);
        foreach (var old in images.SelectMany(i => i.RepoTags ?? []).Where(t => t.StartsWith(repository + ":", StringComparison.Ordinal) && t != keep))
        {
            try
            {
                await docker.Images.DeleteImageAsync(old, new ImageDeleteParameters(), cancellationToken);
                report($"removed the older {old}");
            }
            catch (DockerApiException e)
            {
                report($"kept {old}: {e.Message.Split('\n')[0]}");
            }
        }
    }

    private async Task<bool> ExistsAsync(string tag, CancellationToken cancellationToken)
    {
        try
        {
            await docker.Images.InspectImageAsync(tag, cancellationToken);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
    }

    private string Tag(string name, params IEnumerable<string> inputs) => $"{Repository}/{name}:{ContentHash.Of(inputs)}";

    private static (string Repository, string Tag) Split(string reference)
    {
        var colon = reference.LastIndexOf(':');
        return (reference[..colon], reference[(colon + 1)..]);
    }

    private string Dir(string name) => Path.Combine(Images, name);
}
