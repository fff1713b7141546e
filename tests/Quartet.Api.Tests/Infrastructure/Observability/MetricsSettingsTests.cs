using System.Globalization;

namespace Quartet.Api.Tests.Infrastructure.Observability;

/// <summary>The Metrics settings, given to the real binary as an operator gives them.</summary>
public sealed class MetricsSettingsTests(SharedStack shared)
{
    [Theory]
    [InlineData("Metrics__Port", "abc", "Metrics:Port")]
    [InlineData("Metrics__Port", "70000", "Metrics:Port")]
    [InlineData("Metrics__Address", "metrics.example", "Metrics:Address")]
    [InlineData("Metrics__Enabled", "perhaps", "Metrics:Enabled")]
    public async Task AnInvalidMetricsSettingStopsTheStartWithOneLineNamingIt(string variable, string value, string setting)
    {
        var stack = shared.Stack;
        var environment = BackendProcess.Environment(stack, "postgres", new TestSecrets(stack));
        environment[variable] = value;

        var result = await BackendProcess.RunAsync(environment, input: null);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("Invalid configuration: ", line, StringComparison.Ordinal);
        Assert.Contains(setting, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithMetricsDisabledTheMetricsPortIsNeverOpened()
    {
        var stack = shared.Stack;
        var environment = BackendProcess.Environment(stack, await stack.CreateDatabaseAsync(), new TestSecrets(stack));
        var port = Ports.Free();
        environment["Metrics__Port"] = port.ToString(CultureInfo.InvariantCulture);
        environment["Metrics__Enabled"] = "false";

        await using var backend = await RunningBackend.StartNewAsync(environment);

        Assert.True(backend.IsRunning);
        Assert.False(Ports.InUse(port));
    }
}
