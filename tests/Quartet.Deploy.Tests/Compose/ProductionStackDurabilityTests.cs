using System.Net;
using Quartet.Deploy.Tests.Durability;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// The durability drill on the production stack, last of its checks (it breaks every part once):
/// the same four careful writers as in native mode, through the published nginx, while the backend,
/// PostgreSQL, Redis and nginx crash one after another and their restart policy brings them back.
/// </summary>
public sealed partial class ProductionStackTests
{
    [Fact, Step(30)]
    public async Task NoAcknowledgedWriteIsLostOrDuplicatedWhileEachContainerCrashesInTurn()
    {
        Stack.RequireUp();
        var pending = await Stack.WaitHealthyAsync(TimeSpan.FromSeconds(120), Cancellation, ComposeStack.LongRunning);
        Assert.True(pending.Count == 0, $"not healthy before the drill: {string.Join(", ", pending)}");
        HttpClient NewClient() => Stack.NewClient().Client;
        using var witness = await Witness.SignInAsync(NewClient);
        await using var load = new WriteLoad(NewClient, writers: 4, Say);
        await load.StartAsync(Cancellation);

        var results = await FaultDrill.RunAsync(load, [
            Crash("backend kill -9", "backend", Native.SigKill),
            // SIGQUIT to the postmaster is PostgreSQL's immediate shutdown, what `pg_ctl stop -m immediate` sends.
            Crash("PostgreSQL immediate stop", "postgres", Native.SigQuit),
            Crash("Redis kill -9", "redis", Native.SigKill),
            Crash("nginx kill -9", "nginx", Native.SigKill),
        ], Say, Cancellation);
        await load.StopAsync();

        var (session, refresh) = await witness.CheckAsync(Cancellation);
        var stored = await StoredAsync(load.TitlePrefix);
        var (report, problems) = FaultDrill.Judge("production compose stack (restart: unless-stopped)", load, results, stored);
        report += $"  session made before the faults: GET /api/auth/me {(int)session}; refresh token made before: POST /api/auth/refresh {(int)refresh}";
        TestContext.Current.TestOutputHelper?.WriteLine(report);
        Say(report);
        Assert.True(problems.Count == 0, string.Join("\n", problems) + "\n" + report);
        Assert.True(session == HttpStatusCode.OK, $"the session made before the Redis kill answers {(int)session}\n{report}");
        Assert.True(refresh == HttpStatusCode.OK, $"the refresh token made before the Redis kill answers {(int)refresh}\n{report}");
    }

    /// <summary>
    /// The service's main process (PID 1 of its container) gets the signal from the host, as a crash
    /// would end it; restored once the engine has restarted the container and its health check passes.
    /// `docker kill` would not do: the engine counts it as a manual stop and its restart policy leaves the container down.
    /// </summary>
    private Fault Crash(string name, string service, int signal)
    {
        long restarts = 0;
        string? id = null;
        return new Fault(name,
            async ct =>
            {
                var container = await Stack.InspectAsync(service, ct);
                (id, restarts) = (container.ID, container.RestartCount);
                Assert.True(container.State.Pid > 0 && Native.Signal((int)container.State.Pid, signal),
                    $"signal {signal} to {service} (pid {container.State.Pid}, {container.State.Status}) failed");
            },
            async ct =>
            {
                var after = await Suite.Docker.Containers.InspectContainerAsync(id!, ct);
                return after.RestartCount > restarts && after.State.Status == "running" && after.State.Health?.Status == "healthy";
            });
    }

    private async Task<List<(string Title, Guid Id)>> StoredAsync(string prefix)
    {
        var postgres = await Stack.ContainerAsync("postgres", Cancellation);
        // The prefix is letters, digits, spaces and dashes only (WriteLoad.Run).
        Assert.Matches("^[a-z0-9 -]+$", prefix);
        var (exit, output) = await Stack.ExecAsync(postgres.ID, ["sh", "-c",
            $"PGPASSWORD=\"$(cat /run/secrets/db_password)\" psql -h 127.0.0.1 -U quartet -d quartet -At -F '|' -c \"SELECT title, id FROM notes WHERE starts_with(title, '{prefix}')\""],
            Cancellation);
        Assert.True(exit == 0, $"psql in the postgres container exited with {exit}: {output}");
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('|')).Select(f => (f[0], Guid.Parse(f[1])))];
    }
}
