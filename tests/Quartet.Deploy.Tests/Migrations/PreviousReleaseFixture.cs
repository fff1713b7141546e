namespace Quartet.Deploy.Tests.Migrations;

/// <summary>
/// A rolling upgrade caught halfway (decision 0029): this checkout's <c>migrate</c> has run on a new
/// database, and the previous release's backend (extracted from git and published into a temp folder)
/// serves from it beside this checkout's backend, on one PostgreSQL and one pair of Redis servers.
/// Everything, the published release included, is removed afterwards.
/// </summary>
public sealed class PreviousReleaseFixture : IAsyncLifetime
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(15);
    private string _folder = "";
    private TestStack? _stack;

    public PreviousRelease Release { get; private set; } = null!;
    public BackendServer Previous { get; private set; } = null!;
    public BackendServer Current { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var cancellation = TestContext.Current.CancellationToken;
        Release = await PreviousRelease.FindAsync(TestPaths.Repository, cancellation);
        _folder = TestPaths.NewDirectory("previous-release");
        TestContext.Current.SendDiagnosticMessage(
            $"previous release {Release.Commit[..10]} ({Release.Why}); this checkout adds {string.Join(", ", Release.NewMigrations(TestPaths.Repository))}");

        // The publish is most of the cost: it runs while the servers start and migrate runs.
        var publish = PublishAsync(cancellation);
        _stack = await TestStack.StartAsync(cancellation);
        var environment = BackendProcess.Environment(_stack, await _stack.CreateDatabaseAsync(migrated: false), new TestSecrets(_stack));
        var migrate = await BackendProcess.RunAsync(environment, null, "migrate");
        Assert.True(migrate.ExitCode == 0, "this checkout's migrate failed: " + migrate.Error);

        var previous = await publish;
        var logs = Directory.CreateDirectory(Path.Combine(_folder, "logs")).FullName;
        Previous = new BackendServer(previous, environment, Ports.Free(), logs, logs, "previous-backend") { ProbePath = "health/live" };
        await Previous.StartAsync(cancellation);
        Current = await RunningBackend.StartNewAsync(environment);
    }

    private async Task<string> PublishAsync(CancellationToken cancellationToken)
    {
        var source = Directory.CreateDirectory(Path.Combine(_folder, "source")).FullName;
        var output = Path.Combine(_folder, "app");
        await Release.ExtractAsync(TestPaths.Repository, source, cancellationToken);
        var publish = new Command("dotnet", ["publish", Path.Combine(source, "src", "Quartet.Api", "Quartet.Api.csproj"), "-c", "Release", "-o", output,
            "--nologo", "--disable-build-servers", "-p:UseSharedCompilation=false"])
        {
            WorkingDirectory = source,
            Environment = new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1" },
        };
        try
        {
            await CommandRunner.RunCheckedAsync(publish, cancellationToken, timeout: PublishTimeout);
        }
        catch (StackException e)
        {
            throw new InvalidOperationException($"the previous release ({Release.Commit[..10]}, {Release.Why}) did not publish: {e.Message}", e);
        }
        return Path.Combine(output, "Quartet.Api.dll");
    }

    public async ValueTask DisposeAsync()
    {
        if (Current is not null)
        {
            await Current.DisposeAsync();
        }
        if (Previous is not null)
        {
            await Previous.DisposeAsync();
        }
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
        if (_folder.Length > 0 && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
