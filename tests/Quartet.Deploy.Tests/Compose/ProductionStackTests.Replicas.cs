using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Docker.DotNet.Models;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// Backend replicas behind nginx on the production stack, before the recovery steps: three replicas
/// each serve and share the session, one killed mid-load costs no GET, and <c>./quartet deploy</c>
/// rolls all three to a newly built image under load with no failed request and nobody logged out.
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

        // The setting an operator uses (compose.yaml's scale), not a command-line --scale.
        var environment = Suite.Environment(Stack.Port);
        environment["QUARTET_BACKEND_REPLICAS"] = Replicas.ToString(CultureInfo.InvariantCulture);
        environment["QUARTET_SERVER_NAMES"] = "127.0.0.1";
        var up = await Suite.RunAsync([.. Suite.ComposeCli, "-p", ComposeSuite.Project, "--env-file", Suite.EmptyEnvFile,
            "-f", Path.Combine(Suite.Root, "compose.yaml"), "-f", Path.Combine(Suite.Root, "compose.prod.yaml"), "up", "-d", "--no-deps", "backend"],
            environment, TimeSpan.FromMinutes(5), Cancellation);
        Assert.True(up.Succeeded, $"up -d backend with QUARTET_BACKEND_REPLICAS={Replicas} exited with {up.ExitCode}\n{up.Tail()}");
        var backends = await HealthyBackendsAsync(Replicas, TimeSpan.FromSeconds(180));

        // Writes with the session and its CSRF token, then reads, each answered by whichever replica
        // nginx picks; every answer names its request id, which the replica that served it logs.
        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            using var write = await user.Client.PostAsJsonAsync("/api/notes", new { title = $"replica write {i}", body = "", tags = Array.Empty<string>() }, Cancellation);
            Assert.True(write.StatusCode == HttpStatusCode.Created, $"write {i} with the session and CSRF token: {(int)write.StatusCode} {await write.Content.ReadAsStringAsync(Cancellation)}");
            ids.Add(RequestId(write));
        }
        for (var i = 0; i < 60; i++)
        {
            using var read = await user.Client.GetAsync($"/api/notes/{user.NoteId}", Cancellation);
            Assert.True(read.StatusCode == HttpStatusCode.OK, $"read {i} with the session: {(int)read.StatusCode}");
            ids.Add(RequestId(read));
        }
        // A replica writes its log line after the answer has left, so the lines are read until every
        // id is found, within a bound.
        var served = new Dictionary<string, int>();
        var missing = ids;
        for (var wait = Stopwatch.StartNew(); ; await Task.Delay(TimeSpan.FromMilliseconds(500), Cancellation))
        {
            var logs = await Task.WhenAll(backends.Select(LogAsync));
            served = backends.Zip(logs).ToDictionary(b => b.First[..12], b => ids.Count(id => b.Second.Contains(id, StringComparison.Ordinal)));
            missing = [.. ids.Where(id => !logs.Any(log => log.Contains(id, StringComparison.Ordinal)))];
            if (missing.Count == 0 || wait.Elapsed > TimeSpan.FromSeconds(20))
            {
                break;
            }
        }
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
        using var load = new Load(user, Stack, writers: 0);
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
    public async Task DeployRollsEveryReplicaWithNoFailedRequestAndNobodyLoggedOut()
    {
        Stack.RequireUp();
        var user = await Stack.UserAsync();
        var before = await HealthyBackendsAsync(Replicas, TimeSpan.FromSeconds(180));
        var oldImages = (await Task.WhenAll(before.Select(id => Suite.Docker.Containers.InspectContainerAsync(id, Cancellation)))).Select(c => c.Image).ToHashSet();

        var environment = Suite.Environment(Stack.Port);
        // A new build of the image: the same code under another version label.
        environment["QUARTET_VERSION"] = $"ci-{Guid.NewGuid():N}";
        using var load = new Load(user, Stack, writers: 2);
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
        Assert.True(newImages.Count == 1 && !oldImages.Overlaps(newImages), $"replicas run images {string.Join(", ", newImages)}; before {string.Join(", ", oldImages)}");
        Assert.True(result.Reads > 0 && result.Writes > 0, $"the load did nothing: {result}");
        Assert.True(result.Failed == 0 && result.LoggedOut == 0, $"during the deploy: {result}");

        // Back to the one replica the recovery steps after this expect.
        var one = await Stack.ComposeAsync(Cancellation, "up", "-d", "--no-deps", "--no-recreate", "--scale", "backend=1", "backend");
        Assert.True(one.Succeeded, $"scaling back to one replica exited with {one.ExitCode}\n{one.Tail()}");
    }

    private static string RequestId(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Request-ID", out var values) ? values.Single() : throw new Xunit.Sdk.XunitException("no X-Request-ID in the answer");

    private async Task<string> LogAsync(string containerId)
    {
        using var stream = await Suite.Docker.Containers.GetContainerLogsAsync(containerId, tty: false,
            new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, Cancellation);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(Cancellation);
        return stdout + stderr;
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

    private sealed record LoadResult(int Reads, int Writes, int Failed, int LoggedOut, IReadOnlyList<string> Failures)
    {
        public override string ToString() =>
            $"{Reads} GETs, {Writes} writes, {Failed} failed, {LoggedOut} logged out" + (Failures.Count > 0 ? $" (first: {string.Join("; ", Failures.Take(5))})" : "");
    }

    /// <summary>
    /// Four readers (the note, the session's own /api/auth/me) and <c>writers</c> users creating notes
    /// with the session, its CSRF token and an Idempotency-Key, each under the per-user write limit;
    /// every answer that is not a success counts as failed, a 401 as logged out.
    /// </summary>
    private sealed class Load : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _workers = [];
        private readonly List<string> _failures = [];
        private int _reads;
        private int _writes;
        private int _failed;
        private int _loggedOut;

        public Load(StackUser reader, ComposeStack stack, int writers)
        {
            for (var i = 0; i < 4; i++)
            {
                var path = i % 2 == 0 ? $"/api/notes/{reader.NoteId}" : "/api/auth/me";
                _workers.Add(Task.Run(() => ReadAsync(reader.Client, path)));
            }
            for (var i = 0; i < writers; i++)
            {
                _workers.Add(Task.Run(() => WriteAsync(stack)));
            }
        }

        public async Task<LoadResult> StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_workers);
            lock (_failures)
            {
                return new LoadResult(_reads, _writes, _failed, _loggedOut, [.. _failures]);
            }
        }

        private async Task ReadAsync(HttpClient client, string path)
        {
            while (!_stop.IsCancellationRequested)
            {
                await CountAsync(() => client.GetAsync(path, CancellationToken.None), HttpStatusCode.OK, write: false, $"GET {path}");
            }
        }

        private async Task WriteAsync(ComposeStack stack)
        {
            var (client, _) = stack.NewClient();
            var email = ApiClient.NewEmail("ci-deploy");
            await client.RegisterAsync(email);
            await client.LoginAsync(email);
            for (var i = 0; !_stop.IsCancellationRequested; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/notes")
                {
                    Content = JsonContent.Create(new { title = $"deploy write {i}", body = "", tags = Array.Empty<string>() }),
                    Headers = { { "Idempotency-Key", $"deploy-{Guid.NewGuid():N}" } },
                };
                await CountAsync(() => client.SendAsync(request, CancellationToken.None), HttpStatusCode.Created, write: true, "POST /api/notes");
                // 60 writes a minute is the per-user limit.
                await Task.Delay(1200, CancellationToken.None);
            }
        }

        private async Task CountAsync(Func<Task<HttpResponseMessage>> send, HttpStatusCode expected, bool write, string what)
        {
            string? failure;
            try
            {
                using var response = await send();
                failure = response.StatusCode == expected ? null : $"{what}: {(int)response.StatusCode}";
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    Interlocked.Increment(ref _loggedOut);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                failure = $"{what}: {e.GetType().Name} {e.Message}";
            }
            Interlocked.Increment(ref write ? ref _writes : ref _reads);
            if (failure is not null)
            {
                Interlocked.Increment(ref _failed);
                lock (_failures)
                {
                    _failures.Add(failure);
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }
    }
}
