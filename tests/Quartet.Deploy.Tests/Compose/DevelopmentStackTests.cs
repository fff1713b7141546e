namespace Quartet.Deploy.Tests.Compose;

/// <summary>compose.yaml as <c>./quartet up</c> starts it.</summary>
[Collection(ComposeCollection.Name)]
[Trait("Category", "Compose")]
[Step(2)]
public sealed class DevelopmentStackTests(DevelopmentStack stack) : StackTests<DevelopmentStack>(stack), IClassFixture<DevelopmentStack>
{
    /// <summary>The development secrets are public: ./quartet up refuses to publish them beyond loopback, before anything starts.</summary>
    [Fact, Step(50)]
    public async Task UpRefusesANonLoopbackPublicAddress()
    {
        Stack.RequireUp();
        var environment = Suite.Environment(Stack.Port);
        environment["QUARTET_PUBLIC_ADDRESS"] = "0.0.0.0";

        var up = await Suite.RunAsync([Path.Combine(Suite.Root, "quartet"), "up"], environment, TimeSpan.FromMinutes(2), Cancellation);

        Say($"./quartet up with QUARTET_PUBLIC_ADDRESS=0.0.0.0: exit {up.ExitCode}: {up.Tail(1)}");
        Assert.NotEqual(0, up.ExitCode);
        Assert.Contains("QUARTET_PUBLIC_ADDRESS=0.0.0.0 refused", up.Output, StringComparison.Ordinal);
        Assert.Contains("./quartet up --prod", up.Output, StringComparison.Ordinal);
        // The running stack was left alone.
        var nginx = await Stack.InspectAsync("nginx", Cancellation);
        Assert.Equal("running", nginx.State.Status);
    }
}
