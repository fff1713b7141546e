using System.Diagnostics;
using System.Globalization;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// Backend replicas behind nginx on the production stack, before the recovery steps: three replicas
/// each serve and share the session, one killed mid-load costs no GET, and <c>./quartet deploy</c>
/// rolls all three from the previous release's image to this checkout's under load with no failed
/// request and nobody logged out.
/// </summary>
public sealed partial class ProductionStackTests
{
    private const int Replicas = 3;

    [Fact, Step(15)]
    public async Task EveryReplicaServesAndTheSessionWorksOnEach()
    {
        Stack.RequireUp();
        var user = await Stack.UserAsync();
        var nginxBefore = await Stack.InspectAsync("nginx", Cancellation);

        await UpBackendsAsync(ComposeSuite.BackendImage);
        var backends = await HealthyBackendsAsync(Replicas, TimeSpan.FromSeconds(180));

        // Writes with the session and its CSRF token, then reads, each answered by whichever replica
        // nginx picks; every answer names its request id, which the replica that served it logs.
        var ids = await ReplicaLogs.WriteAndReadAsync(user, writes: 6, reads: 60, Cancellation);
        var (served, missing) = await ReplicaLogs.WhoServedAsync(Suite.Docker, backends, ids, Cancellation);
        Say($"{ids.Count} requests with one session over {Replicas} replicas: {string.Join(", ", served.Select(s => $"{s.Key} served {s.Value}"))}");
        Assert.True(missing.Count == 0, $"no replica logged request ids {string.Join(", ", missing)} within 20 s");
        Assert.True(served.Values.All(n => n > 0), $"a replica served none of the requests: {string.Join(", ", served)}");
        Assert.Equal(ids.Count, served.Values.Sum());

        var nginxAfter = await Stack.InspectAsync("nginx", Cancellation);
        Assert.True(nginxAfter.State.StartedAt == nginxBefore.State.StartedAt && nginxAfter.RestartCount == nginxBefore.RestartCount,
            "nginx was restarted to see the new replicas");
    }

    [Fact, Step(16)]
    public async Task KilledReplicaCostsNoGet()
    {
        Stack.RequireUp();
        var user = await Stack.UserAsync();
        var backends = await HealthyBackendsAsync(Replicas, TimeSpan.FromSeconds(180));
        using var load = new RequestLoad(user, Stack.NewClient, writers: 0);
        await Task.Delay(TimeSpan.FromSeconds(2), Cancellation);
        // A crash, not `docker kill`: the engine counts a kill through its API as a stop, which
        // unless-stopped does not undo, while a process that dies is restarted.
        var victim = await Suite.Docker.Containers.InspectContainerAsync(backends[0], Cancellation);
        Say($"SIGKILL to replica {backends[0][..12]} (pid {victim.State.Pid}) under a GET load");
        Assert.True(victim.State.Pid > 0 && Quartet.Stack.Native.Signal((int)victim.State.Pid, Quartet.Stack.Native.SigKill),
            $"SIGKILL to replica {backends[0][..12]} (pid {victim.State.Pid}) failed");
        await Task.Delay(TimeSpan.FromSeconds(8), Cancellation);
        var result = await load.StopAsync();
        Say($"GETs while a replica was killed: {result}");
        Assert.True(result.Reads > 0 && result.Failed == 0, $"failed requests while a replica was killed: {result}");
        // unless-stopped brings it back; nginx finds it again by name.
        await HealthyBackendsAsync(Replicas, TimeSpan.FromSeconds(180));
    }

    [Fact, Step(17)]
    public async Task DeployRollsEveryReplicaFromThePreviousReleaseWithNoFailedRequestAndNobodyLoggedOut()
    {
        Stack.RequireUp();
        var user = await Stack.UserAsync();
        // What an operator upgrades from: every replica on the previous release's image, which serves
        // on this schema (expand/contract, decision 0029), before the load starts.
        var previous = await Suite.PreviousBackendAsync(Cancellation);
        await UpBackendsAsync(previous.Image);
        var before = await HealthyBackendsAsync(Replicas, TimeSpan.FromSeconds(180));
        var previousId = (await Suite.Docker.Images.InspectImageAsync(previous.Image, Cancellation)).ID;
        var oldImages = (await Task.WhenAll(before.Select(id => Suite.Docker.Containers.InspectContainerAsync(id, Cancellation)))).Select(c => c.Image).ToHashSet();
        Assert.True(oldImages.SetEquals([previousId]), $"the replicas before the deploy run {string.Join(", ", oldImages)}, not the previous release {previous}");
        Say($"{Replicas} replicas on the previous release {previous}");

        var environment = Suite.Environment(Stack.Port);
        // This checkout's image, built by the deploy under a version label of its own.
        environment["QUARTET_VERSION"] = $"ci-{Guid.NewGuid():N}";
        using var load = new RequestLoad(user, Stack.NewClient, writers: 2);
        await Task.Delay(TimeSpan.FromSeconds(2), Cancellation);
        var clock = Stopwatch.StartNew();
        // With its backup first, as an operator runs it.
        var deploy = await Suite.RunAsync([Path.Combine(Suite.Root, "quartet"), "deploy"], environment, TimeSpan.FromMinutes(15), Cancellation);
        var rolled = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(3), Cancellation);
        var result = await load.StopAsync();
        Say($"./quartet deploy: exit {deploy.ExitCode} after {rolled.TotalSeconds:0} s ({Replicas} replicas; backup, image build and migrate included); under load: {result}");
        Assert.True(deploy.Succeeded, $"./quartet deploy exited with {deploy.ExitCode}\n{deploy.Tail()}");

        var after = await HealthyBackendsAsync(Replicas, TimeSpan.FromSeconds(30));
        var newImages = (await Task.WhenAll(after.Select(id => Suite.Docker.Containers.InspectContainerAsync(id, Cancellation)))).Select(c => c.Image).ToHashSet();
        Assert.True(!after.Intersect(before).Any(), "an old replica still runs");
        var current = (await Suite.Docker.Images.InspectImageAsync(ComposeSuite.BackendImage, Cancellation)).ID;
        Assert.True(newImages.SetEquals([current]), $"replicas run images {string.Join(", ", newImages)}, not this checkout's {current}; before {string.Join(", ", oldImages)}");
        Assert.True(result.Reads > 0 && result.Writes > 0, $"the load did nothing: {result}");
        Assert.True(result.Failed == 0 && result.LoggedOut == 0, $"during the deploy: {result}");

        // Back to the one replica the recovery steps after this expect.
        var one = await Stack.ComposeAsync(Cancellation, "up", "-d", "--no-deps", "--no-recreate", "--scale", "backend=1", "backend");
        Assert.True(one.Succeeded, $"scaling back to one replica exited with {one.ExitCode}\n{one.Tail()}");
    }

    /// <summary>
    /// <c>up -d --no-deps backend</c> with <see cref="Replicas"/> replicas on <paramref name="image"/>: the
    /// setting an operator uses (compose.yaml's scale), not a command-line --scale.
    /// </summary>
    private async Task UpBackendsAsync(string image)
    {
        var environment = Suite.Environment(Stack.Port);
        environment["QUARTET_BACKEND_IMAGE"] = image;
        environment["QUARTET_BACKEND_REPLICAS"] = Replicas.ToString(CultureInfo.InvariantCulture);
        environment["QUARTET_SERVER_NAMES"] = "127.0.0.1";
        var up = await Suite.RunAsync([.. Suite.ComposeCli, "-p", ComposeSuite.Project, "--env-file", Suite.EmptyEnvFile,
            "-f", Path.Combine(Suite.Root, "compose.yaml"), "-f", Path.Combine(Suite.Root, "compose.prod.yaml"), "up", "-d", "--no-deps", "backend"],
            environment, TimeSpan.FromMinutes(5), Cancellation);
        Assert.True(up.Succeeded, $"up -d backend with QUARTET_BACKEND_REPLICAS={Replicas} on {image} exited with {up.ExitCode}\n{up.Tail()}");
    }

    /// <summary>Waits until exactly <paramref name="count"/> backend replicas run, all healthy; their ids.</summary>
    private async Task<List<string>> HealthyBackendsAsync(int count, TimeSpan limit)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var backends = (await Suite.ContainersAsync(Cancellation, all: false)).Where(c => ComposeStack.ServiceOf(c.Labels) == "backend").ToList();
            var states = new List<string>();
            foreach (var backend in backends)
            {
                states.Add(await Stack.StateAsync(backend.ID, Cancellation));
            }
            if (backends.Count == count && states.All(s => s == "running/healthy"))
            {
                return [.. backends.Select(b => b.ID)];
            }
            Assert.True(deadline.Elapsed < limit, $"expected {count} healthy backend replicas within {limit.TotalSeconds:0} s; found {string.Join(", ", states)}");
            await Task.Delay(1000, Cancellation);
        }
    }
}
