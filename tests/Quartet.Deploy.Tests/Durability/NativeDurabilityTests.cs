using System.Net;
using Quartet.Deploy.Tests.Backups;

namespace Quartet.Deploy.Tests.Durability;

/// <summary>
/// "No acknowledged write lost, no duplicate from a retry", in native mode: four careful writers go
/// through nginx while the backend is killed (SIGKILL), PostgreSQL stops immediately (SIGQUIT to the
/// postmaster, what <c>pg_ctl stop -m immediate</c> sends), Redis is killed and nginx is killed, one
/// after another; the supervisor that <c>./quartet up</c> runs starts each again.
/// </summary>
[Trait("Category", "Durability")]
[Collection(NativeStackCollection.Name)]
public sealed class NativeDurabilityTests(NativeBackupFixture fixture)
{
    [Fact]
    public async Task NoAcknowledgedWriteIsLostOrDuplicatedWhileEachServerIsKilledInTurn()
    {
        var ct = TestContext.Current.CancellationToken;
        var stack = fixture.Stack;
        await stack.UpAsync(ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var supervisor = new Supervisor(stack, fixture.Say);
        var supervising = supervisor.RunAsync(stop.Token);
        using var probe = new HttpClient { BaseAddress = stack.Settings.PublicUrl, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var witness = await Witness.SignInAsync(fixture.NewClient);
            await using var load = new WriteLoad(fixture.NewClient, writers: 4, fixture.Say);
            await load.StartAsync(ct);

            Fault Kill(string name, Func<ServerProcess> server, int signal) => new(name,
                _ =>
                {
                    var pid = server().Pid ?? throw new InvalidOperationException($"{server().Name} is not running");
                    Assert.True(Native.Signal(pid, signal), $"signal {signal} to {server().Name} (pid {pid}) failed");
                    return Task.CompletedTask;
                },
                async c => supervisor.Restarts.GetValueOrDefault(server().Name) > 0 && server().IsRunning && await ReadyAsync(probe, c));

            var results = await FaultDrill.RunAsync(load, [
                Kill("backend kill -9", () => stack.Backend, Native.SigKill),
                Kill("PostgreSQL immediate stop", () => stack.Postgres, Native.SigQuit),
                // appendfsync everysec: the witness's session and token, written long before, are on disk; the drill's steady wait gives the writers' last touches their second too.
                Kill("Redis kill -9", () => stack.Redis, Native.SigKill),
                Kill("nginx kill -9", () => stack.Nginx, Native.SigKill),
            ], fixture.Say, ct);
            await load.StopAsync();

            var (session, refresh) = await witness.CheckAsync(ct);
            var stored = await StoredAsync(load.TitlePrefix, ct);
            var (report, problems) = FaultDrill.Judge("native stack with its supervisor", load, results, stored);
            report += $"  session made before the faults: GET /api/auth/me {(int)session}; refresh token made before: POST /api/auth/refresh {(int)refresh}";
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            fixture.Say(report);
            Assert.True(problems.Count == 0, string.Join("\n", problems) + "\n" + report);
            Assert.True(session == HttpStatusCode.OK, $"the session made before the Redis kill answers {(int)session}\n{report}");
            Assert.True(refresh == HttpStatusCode.OK, $"the refresh token made before the Redis kill answers {(int)refresh}\n{report}");
        }
        finally
        {
            await stop.CancelAsync();
            await supervising;
            try
            {
                await stack.UpAsync(CancellationToken.None);
            }
            catch (StackException e)
            {
                fixture.Say("the stack could not be brought back up: " + e.Message);
            }
        }
    }

    private async Task<List<(string Title, Guid Id)>> StoredAsync(string prefix, CancellationToken ct)
    {
        await using var db = await fixture.OpenDatabaseAsync(ct);
        await using var command = new Npgsql.NpgsqlCommand("SELECT title, id FROM notes WHERE starts_with(title, @prefix)", db);
        command.Parameters.AddWithValue("prefix", prefix);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<(string Title, Guid Id)>();
        while (await reader.ReadAsync(ct))
        {
            rows.Add((reader.GetString(0), reader.GetGuid(1)));
        }
        return rows;
    }

    private static async Task<bool> ReadyAsync(HttpClient probe, CancellationToken ct)
    {
        try
        {
            using var ready = await probe.GetAsync("/health/ready", ct);
            return ready.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
