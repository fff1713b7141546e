using System.Diagnostics;
using System.Net;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>
/// The native stack's supervisor: each server killed with SIGKILL, as a crash would, is started again
/// and the app answers through nginx again.
/// </summary>
[Trait("Category", "Backup")]
[Collection(NativeStackCollection.Name)]
public sealed class SupervisorTests(NativeBackupFixture fixture)
{
    [Fact]
    public async Task EveryServerKilledIsStartedAgainAndTheAppAnswersWithinTenSeconds()
    {
        var ct = TestContext.Current.CancellationToken;
        await fixture.Stack.UpAsync(ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var supervisor = new Supervisor(fixture.Stack, fixture.Say) { Interval = TimeSpan.FromMilliseconds(200) };
        var running = supervisor.RunAsync(stop.Token);
        try
        {
            var client = fixture.NewClient();
            await client.RegisterAndLoginAsync();
            var note = await client.CreateNoteAsync("survives every crash");
            var stack = fixture.Stack;
            foreach (var server in (ServerProcess[])[stack.Backend, stack.Postgres, stack.Redis, stack.RedisCache, stack.Nginx])
            {
                // A crash: SIGKILL, and nobody tidies up after it.
                var before = server.Pid;
                Assert.NotNull(before);
                Native.Signal(before.Value, Native.SigKill);
                var clock = Stopwatch.StartNew();
                // Restarted, and serving: a killed nginx master leaves workers that answer until the restart ends them.
                while (supervisor.Restarts.GetValueOrDefault(server.Name) == 0 || !await ServesAsync(client, note.Id, ct))
                {
                    Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10),
                        $"{server.Name} killed: the app did not answer within 10 s; supervisor: {string.Join(" | ", fixture.Said.TakeLast(5))}");
                    await Task.Delay(100, ct);
                }
                fixture.Say($"{server.Name} killed: serving again after {clock.Elapsed.TotalSeconds:0.0} s");
                Assert.NotEqual(before, server.Pid);
                Assert.True(supervisor.Restarts.GetValueOrDefault(server.Name) == 1, $"{server.Name} restarts: {supervisor.Restarts.GetValueOrDefault(server.Name)}");
            }
        }
        finally
        {
            await stop.CancelAsync();
            await running;
            // Whole again for the next test, whatever happened here (without hiding this test's own failure).
            try
            {
                await fixture.Stack.UpAsync(CancellationToken.None);
            }
            catch (StackException e)
            {
                fixture.Say("the stack could not be brought back up: " + e.Message);
            }
        }
    }

    /// <summary>Ready through nginx (PostgreSQL, Redis and the schema answer), and the signed-in user's note is served.</summary>
    private static async Task<bool> ServesAsync(HttpClient client, Guid note, CancellationToken ct)
    {
        try
        {
            using var ready = await client.GetAsync("/health/ready", ct);
            using var response = await client.GetAsync($"/api/notes/{note}", ct);
            return ready.StatusCode == HttpStatusCode.OK && response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
