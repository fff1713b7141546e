using System.Text.RegularExpressions;
using Docker.DotNet.Models;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>What every stack needs first: an engine, CI's stand-ins and the two images Quartet builds.</summary>
[Collection(ComposeCollection.Name)]
[Trait("Category", "Compose")]
[Step(1)]
public sealed partial class ImageTests(ComposeSuite suite)
{
    private CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact, Step(1)]
    public async Task ADockerEngineAnswers()
    {
        suite.RequireEngine();
        var version = await suite.Docker.System.GetVersionAsync(Cancellation);
        suite.Log.Say($"engine {version.Version} (API {version.APIVersion}){(suite.StartedDockerd ? ", started by this suite" : "")}");
        Assert.False(string.IsNullOrEmpty(version.APIVersion), "the engine reports no API version");
    }

    /// <summary>Users run `docker compose`: the suite does too, with Debian 13's plugin when the host's Docker CLI has none.</summary>
    [Fact, Step(2)]
    public void TheSuiteRunsComposeV2()
    {
        suite.RequireEngine();
        suite.Log.Say($"compose CLI: {string.Join(' ', suite.ComposeCli)} {suite.ComposeVersion}"
            + (suite.PluginDockerConfig is { } config ? $" (DOCKER_CONFIG={config})" : ""));
        if (suite.ComposeV2Failure is { } failure && System.Environment.GetEnvironmentVariable("CI") != "true")
        {
            Assert.Skip($"compose v2: {failure}; the suite runs on docker-compose (v1)");
        }
        Assert.True(suite.ComposeV2Failure is null, suite.ComposeV2Failure);
        Assert.Equal(["docker", "compose"], suite.ComposeCli);
        Assert.StartsWith("2.", suite.ComposeVersion, StringComparison.Ordinal);
    }

    [Fact, Step(3)]
    public async Task StandInImagesBuildFromADebianRoot()
    {
        suite.RequireEngine();
        lock (suite.Transcript)
        {
            foreach (var line in suite.Transcript)
            {
                TestContext.Current.TestOutputHelper?.WriteLine(line);
            }
        }
        suite.RequireStandIns();
        foreach (var (variable, image) in suite.StandIns!.Variables)
        {
            Assert.Matches(ContentHashedTag(), image);
            var inspect = await suite.Docker.Images.InspectImageAsync(image, Cancellation);
            var name = image[(image.IndexOf('/') + 1)..image.LastIndexOf(':')];
            string? label = null;
            inspect.Config.Labels?.TryGetValue("quartet.ci.stand-in", out label);
            Assert.True(label == name, $"{image} is labelled quartet.ci.stand-in={label}, not {name}");
            suite.Log.Say($"{variable}={image} ({inspect.ID[7..19]}, {inspect.Size / 1_000_000} MB)");
        }
    }

    [Fact, Step(4)]
    public async Task BackendAndWebImagesBuildOnTheStandIns()
    {
        suite.RequireImages();
        suite.Log.Say($"{suite.AppImagesBuild!.Command}: exit {suite.AppImagesBuild.ExitCode}");
        foreach (var image in new[] { ComposeSuite.BackendImage, ComposeSuite.WebImage })
        {
            ImageInspectResponse inspect;
            try
            {
                inspect = await suite.Docker.Images.InspectImageAsync(image, Cancellation);
            }
            catch (Docker.DotNet.DockerImageNotFoundException)
            {
                throw new Xunit.Sdk.XunitException($"compose build succeeded but left no {image}");
            }
            suite.Log.Say($"{image}: {inspect.ID[7..19]}, {inspect.Size / 1_000_000} MB, built {inspect.Created:u}");
        }
    }

    [GeneratedRegex("^quartet-ci/[a-z-]+:[0-9a-f]{12}$")]
    private static partial Regex ContentHashedTag();
}
