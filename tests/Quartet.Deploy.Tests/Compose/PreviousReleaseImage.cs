using Quartet.Deploy.Tests.Migrations;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// The backend image of the previous release (decision 0029: the newest <c>v*</c> tag, else the commit
/// before the newest schema change), built from that commit's own files and Dockerfile on the same
/// base images, once per suite: the image a rolling upgrade starts from.
/// </summary>
public sealed record PreviousReleaseImage(string Image, PreviousRelease Release)
{
    public static readonly string Tag = $"{ComposeSuite.Project}/backend:previous";

    private static readonly TimeSpan BuildLimit = TimeSpan.FromMinutes(15);

    /// <summary>What the deploy tests print and check: the commit and why it is the previous release.</summary>
    public override string ToString() => $"{Image} ({Release.Commit[..10]}, {Release.Why})";

    public static async Task<PreviousReleaseImage> BuildAsync(ComposeSuite suite, CancellationToken cancellationToken)
    {
        var release = await PreviousRelease.FindAsync(suite.Root, cancellationToken);
        var source = Directory.CreateDirectory(Path.Combine(suite.Work, "previous-release")).FullName;
        try
        {
            await release.ExtractAsync(suite.Root, source, cancellationToken);
            var environment = suite.Environment(80);
            List<string> argv = ["docker", "build", "-f", Path.Combine(source, "deploy", "docker", "backend.Dockerfile"), "-t", Tag,
                "--label", $"org.opencontainers.image.revision={release.Commit}"];
            foreach (var variable in (string[])["QUARTET_DOTNET_SDK_IMAGE", "QUARTET_DOTNET_RUNTIME_IMAGE"])
            {
                if (environment.GetValueOrDefault(variable) is { Length: > 0 } image)
                {
                    argv.AddRange(["--build-arg", $"{variable["QUARTET_".Length..]}={image}"]);
                }
            }
            argv.AddRange(["--build-arg", $"QUARTET_VERSION=previous-{release.Commit[..10]}", source]);
            suite.Say($"building the previous release's backend image {Tag} from {release.Commit[..10]} ({release.Why})");
            var build = await suite.RunAsync(argv, environment, BuildLimit, cancellationToken);
            if (!build.Succeeded)
            {
                throw new InvalidOperationException(
                    $"the previous release ({release.Commit[..10]}, {release.Why}) did not build its backend image: exit {build.ExitCode}\n{build.Tail()}");
            }
            return new(Tag, release);
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }
}
