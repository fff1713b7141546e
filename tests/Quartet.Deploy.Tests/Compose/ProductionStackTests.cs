using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Docker.DotNet.Models;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// compose.yaml + compose.prod.yaml as <c>./quartet up --prod</c> starts them: the checks both
/// flavours pass, what compose.prod.yaml promises, then recovery (down and up, kill -9, a Redis
/// restart) before the stack is taken down.
/// </summary>
[Collection(ComposeCollection.Name)]
[Trait("Category", "Compose")]
[Step(4)]
public sealed partial class ProductionStackTests(ProductionStack stack) : StackTests<ProductionStack>(stack), IClassFixture<ProductionStack>
{
    private static readonly string[] Services = ["postgres", "redis", "redis-cache", "migrate", "backend", "nginx", "backup"];

    [Fact, Step(10)]
    public async Task EveryContainerIsHardened()
    {
        Stack.RequireUp();
        var bad = new List<string>();
        var seen = new List<string>();
        foreach (var container in await Suite.ContainersAsync(Cancellation))
        {
            var inspect = await Suite.Docker.Containers.InspectContainerAsync(container.ID, Cancellation);
            var service = ComposeStack.ServiceOf(inspect.Config.Labels);
            seen.Add(service);
            var host = inspect.HostConfig;
            var log = new Dictionary<string, string>(host.LogConfig?.Config ?? new Dictionary<string, string>());
            Say($"{service}: user={inspect.Config.User} read-only={host.ReadonlyRootfs} cap_drop=[{Join(host.CapDrop)}] cap_add=[{Join(host.CapAdd)}] " +
                $"security_opt=[{Join(host.SecurityOpt)}] memory={host.Memory} nano_cpus={host.NanoCPUs} pids={host.PidsLimit} " +
                $"log={host.LogConfig?.Type}/{log.GetValueOrDefault("max-size")}/{log.GetValueOrDefault("max-file")} restart={host.RestartPolicy?.Name}");

            var user = inspect.Config.User ?? "";
            if (user is "" or "root" or "0" || user.StartsWith("0:", StringComparison.Ordinal))
            {
                bad.Add($"{service}: no non-root user ({(user == "" ? "none set" : user)})");
            }
            if (!host.ReadonlyRootfs)
            {
                bad.Add($"{service}: root filesystem writable");
            }
            if (!(host.CapDrop ?? []).SequenceEqual(["ALL"]))
            {
                bad.Add($"{service}: capabilities not dropped (cap_drop [{Join(host.CapDrop)}])");
            }
            if (host.CapAdd is { Count: > 0 })
            {
                bad.Add($"{service}: capabilities added ({Join(host.CapAdd)})");
            }
            if (!(host.SecurityOpt ?? []).Contains("no-new-privileges:true"))
            {
                bad.Add($"{service}: no no-new-privileges");
            }
            if (host.Memory <= 0)
            {
                bad.Add($"{service}: no memory limit");
            }
            if (host.NanoCPUs <= 0)
            {
                bad.Add($"{service}: no CPU limit");
            }
            if (host.PidsLimit is not > 0)
            {
                bad.Add($"{service}: no PID limit");
            }
            if (host.LogConfig?.Type != "json-file" || !Size().IsMatch(log.GetValueOrDefault("max-size") ?? "") || !Count().IsMatch(log.GetValueOrDefault("max-file") ?? ""))
            {
                bad.Add($"{service}: no log rotation (json-file with max-size and max-file)");
            }
            var restart = service == "migrate" ? RestartPolicyKind.No : RestartPolicyKind.UnlessStopped;
            if (host.RestartPolicy?.Name != restart)
            {
                bad.Add($"{service}: restart policy {host.RestartPolicy?.Name}, not {restart}");
            }
        }
        Assert.True(Services.All(seen.Contains), $"expected containers for {string.Join(", ", Services)}; found {string.Join(", ", seen)}");
        Assert.True(bad.Count == 0, string.Join("; ", bad));
    }

    [Fact, Step(11)]
    public async Task NoSecretValueInInspectAndNoSecretVariable()
    {
        Stack.RequireUp();
        var secrets = Directory.GetFiles(Suite.SecretsDirectory).Append(Stack.AdminPasswordFile)
            .Select(file => (Name: Path.GetFileName(file), Value: File.ReadAllText(file).TrimEnd('\n')))
            .Where(secret => secret.Value.Length > 0)
            .ToList();
        Assert.True(secrets.Count == 10, $"expected nine secrets and the admin password, found {secrets.Count}: {string.Join(", ", secrets.Select(s => s.Name))}");
        var bad = new List<string>();
        using var raw = new RawInspect();
        foreach (var container in await Suite.ContainersAsync(Cancellation))
        {
            var json = await raw.ContainerAsync(container.ID, Cancellation);
            var inspect = await Suite.Docker.Containers.InspectContainerAsync(container.ID, Cancellation);
            var name = inspect.Name.TrimStart('/');
            var found = secrets.Where(secret => json.Contains(secret.Value, StringComparison.Ordinal)).Select(secret => secret.Name).ToList();
            bad.AddRange(found.Select(secret => $"{secret} in docker inspect {name}"));
            var variables = (inspect.Config.Env ?? []).Select(v => v.Split('=')[0]).Where(name => SecretVariable().IsMatch(name)).ToList();
            bad.AddRange(variables.Select(variable => $"the variable {variable} in {name}"));
            Say($"{name}: {json.Length} characters of docker inspect, {secrets.Count - found.Count} of {secrets.Count} secrets absent, {(inspect.Config.Env ?? []).Count} variables, none secret-named: {variables.Count == 0}");
        }
        Assert.True(bad.Count == 0, string.Join("; ", bad));
    }

    [Fact, Step(12)]
    public async Task NoProcessRunsAsRoot()
    {
        Stack.RequireUp();
        var bad = new List<string>();
        var running = await Suite.ContainersAsync(Cancellation, all: false);
        Assert.True(ComposeStack.LongRunning.All(s => running.Any(c => ComposeStack.ServiceOf(c.Labels) == s)),
            $"expected {string.Join(", ", ComposeStack.LongRunning)} running; found {string.Join(", ", running.Select(c => ComposeStack.ServiceOf(c.Labels)))}");
        foreach (var container in running)
        {
            var top = await Suite.Docker.Containers.ListProcessesAsync(container.ID, new ContainerListProcessesParameters { PsArgs = "-eo uid,pid,comm" }, Cancellation);
            var uid = top.Titles.IndexOf("UID");
            var pid = top.Titles.IndexOf("PID");
            var command = top.Titles.IndexOf("COMMAND");
            Assert.True(uid >= 0 && pid >= 0 && command >= 0, $"docker top answered columns {string.Join(", ", top.Titles)}");
            var name = string.Join(",", container.Names).TrimStart('/');
            Say($"{name}: {string.Join(", ", top.Processes.Select(p => $"{p[command]} (pid {p[pid]}, uid {p[uid]})"))}");
            bad.AddRange(top.Processes.Where(p => p[uid] == "0").Select(p => $"{name}: {p[command]} (pid {p[pid]})"));
        }
        Assert.True(bad.Count == 0, $"root processes: {string.Join("; ", bad)}");
    }

    [Fact, Step(13)]
    public async Task UpRefusesThePublishedDevelopmentSecrets()
    {
        Stack.RequireUp();
        var environment = Suite.Environment(Stack.Port);
        environment["QUARTET_SECRETS_DIR"] = Path.Combine(Suite.Root, "deploy", "docker", "development-secrets");

        var up = await Suite.RunAsync([Path.Combine(Suite.Root, "quartet"), "up", "--prod"], environment, TimeSpan.FromMinutes(2), Cancellation);

        Say($"./quartet up --prod on the development secrets: exit {up.ExitCode}: {up.Tail(1)}");
        Assert.NotEqual(0, up.ExitCode);
        Assert.Matches("Secret '[a-z_]+' in .* is the published development value; make a new one with scripts/generate-secrets.sh --force", up.Output);
    }

    /// <summary>More replicas than PostgreSQL has connections for would answer 503 under load: up refuses them, and the running stack is untouched.</summary>
    [Fact, Step(13)]
    public async Task UpRefusesMoreReplicaPoolsThanPostgresHasConnections()
    {
        Stack.RequireUp();
        var before = await Stack.InspectAsync("backend", Cancellation);
        var environment = Suite.Environment(Stack.Port);
        environment["QUARTET_BACKEND_REPLICAS"] = "5";

        var up = await Suite.RunAsync([Path.Combine(Suite.Root, "quartet"), "up", "--prod"], environment, TimeSpan.FromMinutes(2), Cancellation);

        Say($"./quartet up --prod with 5 replicas of 20 connections: exit {up.ExitCode}: {up.Tail(1)}");
        Assert.NotEqual(0, up.ExitCode);
        Assert.Contains("6 × QUARTET_DB_POOL_SIZE=20 + 10 connections exceed PostgreSQL's 100", up.Output, StringComparison.Ordinal);
        var after = await Stack.InspectAsync("backend", Cancellation);
        Assert.True(after.ID == before.ID && after.State.StartedAt == before.State.StartedAt, "the refused up changed the running backend");
    }

    /// <summary>
    /// Encrypted backups exist and the passphrase's file is gone (decision 0031): a new passphrase could not read
    /// them, so up stops with one line saying where the kept copy belongs, makes no new one, and leaves the
    /// running stack as it was.
    /// </summary>
    [Fact, Step(13)]
    public async Task UpRefusesToMakeANewPassphraseOverEncryptedBackups()
    {
        Stack.RequireUp();
        var before = await Stack.InspectAsync("backend", Cancellation);
        var secrets = Directory.CreateDirectory(Path.Combine(Suite.Work, "secrets-no-passphrase")).FullName;
        foreach (var file in Directory.EnumerateFiles(Suite.SecretsDirectory).Where(f => Path.GetFileName(f) != "backup_passphrase"))
        {
            File.Copy(file, Path.Combine(secrets, Path.GetFileName(file)), overwrite: true);
        }
        var environment = Suite.Environment(Stack.Port);
        environment["QUARTET_SECRETS_DIR"] = secrets;

        var up = await Suite.RunAsync([Path.Combine(Suite.Root, "quartet"), "up", "--prod"], environment, TimeSpan.FromMinutes(5), Cancellation);

        Say($"./quartet up --prod with encrypted backups and no backup_passphrase: exit {up.ExitCode}: {up.Tail(1)}");
        Assert.Equal(1, up.ExitCode);
        Assert.Equal($"quartet: error: QUARTET_BACKUP_ENCRYPTION=on, the backups volume exists and the secret {secrets}/backup_passphrase is missing: " +
            "put the copy kept off this machine there (a new one could not read the backups)", up.Tail(1));
        Assert.False(File.Exists(Path.Combine(secrets, "backup_passphrase")), "up made a new backup_passphrase over encrypted backups");
        var after = await Stack.InspectAsync("backend", Cancellation);
        Assert.True(after.ID == before.ID && after.State.StartedAt == before.State.StartedAt, "the refused up changed the running backend");
    }

    /// <summary>Production's backend reaches nothing outside but the relay, through mail-egress (a plain TCP pipe on the edge network).</summary>
    [Fact, Step(14)]
    public async Task OnlyMailEgressAndNginxAreOnTheEdgeNetwork()
    {
        Stack.RequireUp();
        var onEdge = new List<string>();
        foreach (var container in await Suite.ContainersAsync(Cancellation, all: false))
        {
            var inspect = await Suite.Docker.Containers.InspectContainerAsync(container.ID, Cancellation);
            foreach (var id in inspect.NetworkSettings.Networks.Values.Select(n => n.NetworkID))
            {
                if (!(await Suite.Docker.Networks.InspectNetworkAsync(id, Cancellation)).Internal)
                {
                    onEdge.Add(ComposeStack.ServiceOf(inspect.Config.Labels));
                }
            }
        }
        Say($"on a network with a route out: {string.Join(", ", onEdge.Order())}");
        Assert.Equal(["mail-egress", "nginx"], onEdge.Order().ToArray());
    }

    [Fact, Step(20)]
    public async Task DownThenUpKeepsTheUserTheNoteAndTheSession()
    {
        Stack.RequireUp();
        var user = await Stack.UserAsync();
        var down = await Stack.ComposeAsync(Cancellation, "down", "--timeout", "20");
        Assert.True(down.Succeeded, $"down exited with {down.ExitCode}\n{down.Tail()}");
        var up = await Stack.ComposeAsync(Cancellation, "up", "-d");
        Assert.True(up.Succeeded, $"up after down exited with {up.ExitCode}\n{up.Tail()}");
        var pending = await Stack.WaitHealthyAsync(TimeSpan.FromSeconds(180), Cancellation, ComposeStack.LongRunning);
        Assert.True(pending.Count == 0, $"not healthy again within 180 s: {string.Join(", ", pending)}");
        Say("down, up -d: every service healthy again");

        var (client, _) = Stack.NewClient();
        using var login = await client.PostAsJsonAsync("/api/auth/login", new { email = user.Email, password = ApiClient.StrongPassword }, Cancellation);
        Say($"log in again as {user.Email}: {(int)login.StatusCode}");
        Assert.True(login.StatusCode == HttpStatusCode.OK, $"the user cannot log in after down and up ({(int)login.StatusCode})");
        using var note = await user.Client.GetAsync($"/api/notes/{user.NoteId}", Cancellation);
        Say($"GET /api/notes/{user.NoteId} with the session from before: {(int)note.StatusCode}");
        Assert.True(note.StatusCode == HttpStatusCode.OK, $"the note or the session is gone after down and up ({(int)note.StatusCode})");
    }

    [Fact, Step(21)]
    public async Task KilledBackendComesBackHealthyWithTheSessionValid()
    {
        Stack.RequireUp();
        var user = await Stack.UserAsync();
        var backend = await Stack.InspectAsync("backend", Cancellation);
        var pid = (int)backend.State.Pid;
        var restarts = backend.RestartCount;
        Assert.True(pid > 0, $"the backend has no process ({backend.State.Status})");
        Say($"kill -9 {pid} (the backend's process; restart count {restarts})");
        Assert.True(Native.Signal(pid, Native.SigKill), $"kill -9 {pid} failed");

        var deadline = Stopwatch.StartNew();
        ContainerInspectResponse after;
        while (true)
        {
            after = await Suite.Docker.Containers.InspectContainerAsync(backend.ID, Cancellation);
            if ((after.RestartCount > restarts && after.State.Status == "running" && after.State.Health?.Status == "healthy") || deadline.Elapsed > TimeSpan.FromSeconds(120))
            {
                break;
            }
            await Task.Delay(1000, Cancellation);
        }
        Say($"after {deadline.Elapsed.TotalSeconds:0} s: restart count {after.RestartCount}, {after.State.Status}/{after.State.Health?.Status}, pid {after.State.Pid}");
        Assert.True(after.RestartCount > restarts && after.State.Status == "running" && after.State.Health?.Status == "healthy",
            $"not restarted and healthy within 120 s (restart count {after.RestartCount}, {after.State.Status}/{after.State.Health?.Status})");
        Assert.True(await ComposeStack.SessionWorksWithinAsync(user, TimeSpan.FromSeconds(20), Cancellation),
            "the session cookie no longer works after the restart");
        Say("GET /api/auth/me with the session from before: 200");
    }

    [Fact, Step(22)]
    public async Task RedisRestartKeepsTheSession()
    {
        Stack.RequireUp();
        var user = await Stack.UserAsync();
        // appendfsync everysec: the session written at login is on disk after a second.
        await Task.Delay(TimeSpan.FromSeconds(1.5), Cancellation);
        var redis = await Stack.InspectAsync("redis", Cancellation);
        using (var limit = CancellationTokenSource.CreateLinkedTokenSource(Cancellation))
        {
            limit.CancelAfter(TimeSpan.FromSeconds(60));
            await Suite.Docker.Containers.RestartContainerAsync(redis.ID, new ContainerRestartParameters { WaitBeforeKillSeconds = 10 }, limit.Token);
        }
        var restarted = await Suite.Docker.Containers.InspectContainerAsync(redis.ID, Cancellation);
        Say($"restarted redis: started {redis.State.StartedAt}, now {restarted.State.StartedAt}");
        Assert.True(restarted.State.StartedAt != redis.State.StartedAt, "redis did not restart");
        var pending = await Stack.WaitHealthyAsync(TimeSpan.FromSeconds(60), Cancellation, "redis");
        Assert.True(pending.Count == 0, $"redis not healthy again within 60 s: {string.Join(", ", pending)}");
        Assert.True(await ComposeStack.SessionWorksWithinAsync(user, TimeSpan.FromSeconds(30), Cancellation),
            "the session is gone after the Redis restart");
        Say("GET /api/auth/me with the session from before: 200");
    }

    private static string Join(IEnumerable<string>? values) => string.Join(",", values ?? []);

    [GeneratedRegex("^[0-9]+[kmg]$")]
    private static partial Regex Size();

    [GeneratedRegex("^[0-9]+$")]
    private static partial Regex Count();

    [GeneratedRegex("^(DB_PASSWORD|DB_OWNER_PASSWORD|DB_APP_PASSWORD|REDIS_PASSWORD|REDIS_BACKUP_PASSWORD|SESSION_SECRET|JWT_SECRET|ADMIN_PASSWORD_HASH|POSTGRES_PASSWORD|REDISCLI_AUTH)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretVariable();
}
