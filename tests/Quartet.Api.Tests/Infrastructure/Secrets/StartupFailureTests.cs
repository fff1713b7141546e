
namespace Quartet.Api.Tests.Infrastructure.Secrets;

/// <summary>The real binary, started as an operator would start it, with something wrong.</summary>
public sealed class StartupFailureTests(SharedStack shared)
{
    [Theory]
    [InlineData("session_secret")]
    [InlineData("jwt_secret")]
    [InlineData("db_password")]
    [InlineData("redis_password")]
    public async Task ProductionWithoutASecretExitsNonZeroWithOneLineNamingIt(string missing)
    {
        var stack = shared.Stack;
        var secrets = new TestSecrets(stack);
        var environment = BackendProcess.Environment(stack, "postgres", secrets, missing);
        // The plain variable is not enough in Production, and says so.
        environment[missing.ToUpperInvariant()] = "plain-value-that-must-not-be-printed-0123456789";

        var result = await BackendProcess.RunAsync(environment, input: null);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith($"Secret '{missing}' is missing", line, StringComparison.Ordinal);
        Assert.Contains("generate-secrets.sh", line, StringComparison.Ordinal);
        foreach (var value in secrets.Values.Values.Append("plain-value-that-must-not-be-printed-0123456789"))
        {
            Assert.DoesNotContain(value, result.Output + result.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnUnreachableDatabaseStopsTheStartWithOneClearLineAfterABoundedWait()
    {
        var stack = shared.Stack;
        var environment = BackendProcess.Environment(stack, "postgres", new TestSecrets(stack));
        environment["Database__Port"] = Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["Database__StartupTimeoutSeconds"] = "2";

        var result = await BackendProcess.RunAsync(environment, input: null);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("PostgreSQL at 127.0.0.1:", line, StringComparison.Ordinal);
        Assert.Contains("did not accept a connection within 2 s", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidSettingsStopTheStartNamingTheSetting()
    {
        var line = await BackendProcess.RefusedStartLineAsync(shared.Stack, new Dictionary<string, string?> { ["Database__Port"] = "70000" });

        Assert.Contains("Port", line, StringComparison.Ordinal);
    }
}
