using System.Globalization;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// The mode a stack runs in is sticky: once a native stack is up, a Docker engine that answers does
/// not make `./quartet` address compose instead (it would not see the native stack), and asking for
/// compose stops with one line until `./quartet down`.
/// </summary>
[Collection(ComposeCollection.Name)]
[Trait("Category", "Compose")]
[Step(5)]
public sealed class ModeTests(ComposeSuite suite) : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("quartet-mode-").FullName;

    public void Dispose() => Directory.Delete(_state, recursive: true);

    private Task<HostCommandResult> QuartetAsync(string? mode, params string[] arguments)
    {
        var environment = new Dictionary<string, string?>
        {
            ["QUARTET_STATE_DIR"] = _state,
            ["QUARTET_MODE"] = mode,
            // Ports of nothing, so a native status can only show this (stopped) stack.
            ["QUARTET_HTTP_PORT"] = Port(),
            ["QUARTET_BACKEND_PORT"] = Port(),
            ["QUARTET_PG_PORT"] = Port(),
            ["QUARTET_REDIS_PORT"] = Port(),
            ["QUARTET_MAIL_SMTP_PORT"] = Port(),
            ["QUARTET_MAIL_PORT"] = Port(),
            ["QUARTET_COMPOSE_PROJECT"] = ComposeSuite.Project,
            ["QUARTET_ENV_FILE"] = suite.EmptyEnvFile,
        };
        return HostCommand.RunAsync([Path.Combine(suite.Root, "quartet"), .. arguments], environment, suite.Root, suite.Log,
            TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken);
    }

    private static string Port() => Ports.Free().ToString(CultureInfo.InvariantCulture);

    private void RecordNativeStackUp() => File.WriteAllText(Path.Combine(_state, "mode"), "native\n");

    [Fact, Step(1)]
    public async Task ANativeStackThatIsUpKeepsNativeModeWhileADockerEngineAnswers()
    {
        suite.RequireEngine();
        RecordNativeStackUp();

        var status = await QuartetAsync(mode: null, "status");

        Assert.True(status.Succeeded, status.Tail());
        foreach (var server in (string[])["nginx", "backend", "postgres", "redis"])
        {
            Assert.Matches($@"(?m)^{server} +stopped \(port \d+\)$", status.Output);
        }
    }

    [Fact, Step(2)]
    public async Task AskingForComposeWhileANativeStackIsUpStopsWithOneLineAndStartsNothing()
    {
        suite.RequireEngine();
        RecordNativeStackUp();

        var up = await QuartetAsync(mode: "compose", "up");

        Assert.Equal(1, up.ExitCode);
        Assert.Equal("quartet: error: the stack is up in native mode; run ./quartet down first to switch to compose", up.Output.Trim());
        var containers = await suite.Docker.Containers.ListContainersAsync(new() { All = true }, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(containers, c => c.Labels.TryGetValue("com.docker.compose.project", out var p) && p == ComposeSuite.Project);
    }

    [Fact, Step(3)]
    public async Task WithNoStackUpAnAnsweringEngineMeansComposeMode()
    {
        suite.RequireEngine();

        var status = await QuartetAsync(mode: null, "status");

        Assert.True(status.Succeeded, status.Tail());
        Assert.DoesNotMatch(@"(?m)^postgres +stopped", status.Output);
        Assert.False(File.Exists(Path.Combine(_state, "mode")));
    }
}
