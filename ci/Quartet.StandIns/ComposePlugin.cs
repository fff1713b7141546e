using System.Security.Cryptography;
using Quartet.Stack;

namespace Quartet.StandIns;

/// <summary>
/// Compose v2 on a Debian 12 host, which packages only v1: Debian 13's <c>docker-compose</c> package
/// holds the v2 CLI plugin. apt fetches that one package from the archive this host already installs
/// from, under a private configuration (its own sources list, package lists and cache), so the host's
/// distribution and apt state stay as they are, and apt checks the file against the signed Release and
/// Packages indexes. The plugin lands in a Docker configuration folder's <c>cli-plugins</c>, where the
/// Docker CLI finds it when DOCKER_CONFIG names that folder.
/// </summary>
public static class ComposePlugin
{
    public const string Suite = "trixie";
    public const string Package = "docker-compose";

    private const string InPackage = "usr/libexec/docker/cli-plugins/docker-compose";
    private static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Where the plugin sits in a Docker configuration folder.</summary>
    public static string PathIn(string dockerConfig) => Path.Combine(dockerConfig, "cli-plugins", "docker-compose");

    /// <summary>
    /// The plugin in <paramref name="dockerConfig"/>, fetched when it is not there yet; returns what was
    /// installed (package, version, the plugin's SHA-256).
    /// </summary>
    public static async Task<string> EnsureAsync(string dockerConfig, TextWriter log, Action<string> report, CancellationToken cancellationToken)
    {
        var plugin = PathIn(dockerConfig);
        var stamp = Path.Combine(dockerConfig, "compose-plugin");
        if (File.Exists(plugin) && File.Exists(stamp))
        {
            var known = (await File.ReadAllTextAsync(stamp, cancellationToken)).Trim();
            report($"reusing the compose plugin in {dockerConfig} ({known})");
            return known;
        }
        var source = DebianMirror.FindSource();
        var work = Directory.CreateTempSubdirectory("quartet-compose-plugin.").FullName;
        try
        {
            report($"fetching {Package} from {Suite} at {source.Uri} with a private apt configuration");
            var apt = PrivateApt(work, source);
            await HostProgram.OutputAsync("apt-get", [.. apt, "update"], cancellationToken, log, AptTimeout);
            await RunInAsync(work, "apt-get", [.. apt, "download", Package], log, cancellationToken);
            var deb = Directory.GetFiles(work, $"{Package}_*.deb").SingleOrDefault()
                ?? throw new StandInException($"apt-get download {Package} left no .deb in {work}");
            var version = (await HostProgram.OutputAsync("dpkg-deb", ["--field", deb, "Version"], cancellationToken, log)).Trim();
            var root = Path.Combine(work, "root");
            await HostProgram.OutputAsync("dpkg-deb", ["-x", deb, root], cancellationToken, log);
            var extracted = Path.Combine(root, InPackage);
            if (!File.Exists(extracted))
            {
                throw new StandInException($"{Path.GetFileName(deb)} holds no /{InPackage}");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(plugin)!);
            var staged = plugin + ".new";
            File.Copy(extracted, staged, overwrite: true);
            File.SetUnixFileMode(staged, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.Move(staged, plugin, overwrite: true);
            string sha256;
            await using (var file = File.OpenRead(plugin))
            {
                sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
            }
            var installed = $"{Package} {version} from {Suite}, plugin sha256 {sha256}";
            await File.WriteAllTextAsync(stamp, installed + "\n", cancellationToken);
            report($"installed {installed} in {Path.GetDirectoryName(plugin)}");
            return installed;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// apt options that read and write only below <paramref name="work"/>: one sources list naming
    /// <see cref="Suite"/> on the host's own archive and keyring, no other sources or pins, own lists
    /// and cache. The host's status file is only read.
    /// </summary>
    internal static string[] PrivateApt(string work, DebianSource source)
    {
        var lists = Directory.CreateDirectory(Path.Combine(work, "lists", "partial")).Parent!.FullName;
        var cache = Directory.CreateDirectory(Path.Combine(work, "cache", "archives", "partial")).Parent!.Parent!.FullName;
        var empty = Directory.CreateDirectory(Path.Combine(work, "empty.d")).FullName;
        var sources = Path.Combine(work, "sources.list");
        File.WriteAllText(sources, SourcesLine(source) + "\n");
        List<string> options =
        [
            "-o", $"Dir::Etc::sourcelist={sources}",
            "-o", $"Dir::Etc::sourceparts={empty}",
            "-o", $"Dir::Etc::preferences={Path.Combine(empty, "none")}",
            "-o", $"Dir::Etc::preferencesparts={empty}",
            "-o", $"Dir::State::Lists={lists}",
            "-o", $"Dir::Cache={cache}",
            "-o", "APT::Get::List-Cleanup=false",
        ];
        if (Native.IsRoot)
        {
            // apt's download user cannot enter the private (mode 700) folder.
            options.AddRange(["-o", "APT::Sandbox::User=root"]);
        }
        return [.. options];
    }

    internal static string SourcesLine(DebianSource source) =>
        $"deb {(source.SignedBy is { } keyring ? $"[signed-by={keyring}] " : "")}{source.Uri} {Suite} main";

    private static async Task RunInAsync(string directory, string program, string[] arguments, TextWriter log, CancellationToken cancellationToken)
    {
        var command = new Command(program, arguments) { WorkingDirectory = directory };
        var result = await CommandRunner.RunAsync(command, cancellationToken, timeout: AptTimeout);
        await log.WriteAsync($"$ {command}\n{result.Output}{result.Error}".AsMemory(), cancellationToken);
        if (!result.Succeeded)
        {
            var tail = string.Join('\n', (result.Output + result.Error).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(20));
            throw new StandInException($"{command} exited with {result.ExitCode}\n{tail}");
        }
    }
}
