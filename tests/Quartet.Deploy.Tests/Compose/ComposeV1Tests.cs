using System.Net;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// Compose v1 (<c>docker-compose</c> 1.29, what Debian 12 packages) still runs the stack: the suite
/// runs on v2, and here <c>./quartet up</c> on a Docker CLI without the plugin picks v1; the
/// development stack comes up healthy, serves a user through nginx, and <c>./quartet down</c> stops it.
/// </summary>
[Collection(ComposeCollection.Name)]
[Trait("Category", "Compose")]
[Step(6)]
public sealed class ComposeV1Tests(DevelopmentStackOnComposeV1 stack) : IClassFixture<DevelopmentStackOnComposeV1>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact, Step(1)]
    public async Task UpPicksComposeV1AndMakesEveryServiceHealthy()
    {
        stack.RequireUp(showOutput: true);
        var pending = await stack.WaitHealthyAsync(TimeSpan.FromSeconds(60), Cancellation, [.. ComposeStack.LongRunning, "maildev"]);
        Assert.True(pending.Count == 0, $"./quartet up on compose v1 returned, but not running and healthy: {string.Join(", ", pending)}");
        await StackTests<DevelopmentStack>.AssertMadeByComposeAsync(stack);
    }

    [Fact, Step(2)]
    public async Task AUserRegistersLogsInAndReadsANoteBackThroughNginx()
    {
        stack.RequireUp();
        var user = await stack.UserAsync();
        using var response = await user.Client.GetAsync($"/api/notes/{user.NoteId}", Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await ComposeStack.SessionWorksWithinAsync(user, TimeSpan.FromSeconds(10), Cancellation), "the session did not answer GET /api/auth/me");
    }

    [Fact, Step(3)]
    public async Task DownStopsTheStack()
    {
        stack.RequireUp();
        var down = await stack.Suite.RunAsync([Path.Combine(stack.Suite.Root, "quartet"), "down"], stack.Environment(), TimeSpan.FromMinutes(3), Cancellation);
        Assert.True(down.Succeeded, $"./quartet down exited with {down.ExitCode}\n{down.Tail()}");
        var running = await stack.Suite.ContainersAsync(Cancellation, all: false);
        Assert.True(running.Count == 0, $"still running after ./quartet down: {string.Join(", ", running.Select(c => ComposeStack.ServiceOf(c.Labels)))}");
    }
}
