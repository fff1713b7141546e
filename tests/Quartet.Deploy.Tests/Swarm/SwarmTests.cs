using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Docker.DotNet.Models;
using Quartet.Deploy.Tests.Compose;

namespace Quartet.Deploy.Tests.Swarm;

/// <summary>
/// The production services on Docker Swarm for real: deploy/swarm/quartet.stack.yaml deployed by
/// <c>./quartet swarm deploy</c> on a one-node swarm in a container (<see cref="SwarmStack"/>), then
/// what an operator and a user see: migrations done before the backend serves, a user's session and
/// CSRF token through nginx, every backend replica serving, the hardening Swarm applies, nginx cut
/// off from the data servers, a verified backup taken by <c>./quartet swarm backup</c>, a
/// start-first rolling update under load from the previous release (deployed first, with its own
/// migrations) to this checkout, which backs up first, migrates while the previous release serves,
/// and fails no request, and a release that does not start
/// rolled back by Swarm, again failing no request. After the compose stacks, on the
/// images the compose suite built.
/// </summary>
[Collection(ComposeCollection.Name)]
[Trait("Category", "Swarm")]
[Step(7)]
public sealed class SwarmTests(SwarmStack stack) : IClassFixture<SwarmStack>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private ComposeSuite Suite => stack.Suite;

    [Fact, Step(1)]
    public async Task DeployMigratesFirstAndEveryServiceConverges()
    {
        Say(string.Join("; ", stack.Timings));
        stack.RequireUp();
        Say($"./quartet swarm deploy: {stack.Deploy!.Tail(3)}");
        // The migrations ran to completion before the deploy waited for the backend, and their
        // service is back to no task.
        var output = stack.Deploy.Output;
        var migrated = output.IndexOf("quartet: migrations done: the schema is current", StringComparison.Ordinal);
        Assert.True(migrated >= 0 && migrated < output.IndexOf("quartet: deployed stack", StringComparison.Ordinal),
            $"./quartet swarm deploy did not report the migrations done before the stack:\n{stack.Deploy.Tail()}");
        Assert.Contains("quartet: a new stack: nothing to back up yet", output, StringComparison.Ordinal);
        var migrate = await stack.Node!.Engine!.Swarm.InspectServiceAsync($"{SwarmStack.StackName}_migrate", Cancellation);
        Assert.Equal(0UL, migrate.Spec.Mode.Replicated.Replicas);
        Assert.Empty(await stack.ContainersAsync("migrate", Cancellation));

        // Ready means PostgreSQL and Redis answer and the schema is current, asked through nginx.
        var (client, _) = stack.NewClient();
        using var ready = await client.GetAsync("/health/ready", Cancellation);
        Say($"GET /health/ready through nginx at {stack.PublicUrl}: {(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync(Cancellation)}");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        foreach (var (service, count) in new[] { ("postgres", 1), ("redis", 1), ("redis-cache", 1), ("backend", SwarmStack.Replicas), ("nginx", 1) })
        {
            var containers = await stack.ContainersAsync(service, Cancellation);
            Assert.True(containers.Count == count && containers.All(c => c.Status.Contains("(healthy)", StringComparison.Ordinal)),
                $"{service}: expected {count} healthy containers; found {string.Join(", ", containers.Select(c => c.Status))}");
        }
        // The relay needs a login here, so the backend holds the smtp_password secret from
        // deploy/swarm/smtp-login.stack.yaml (it reads it at start, and would not be ready without).
        var backendService = await stack.Node.Engine.Swarm.InspectServiceAsync($"{SwarmStack.StackName}_backend", Cancellation);
        Assert.Contains(backendService.Spec.TaskTemplate.ContainerSpec.Secrets ?? [], s => s.File?.Name == "smtp_password");
        Assert.Contains($"Mail__Username={SwarmStack.SmtpUsername}", backendService.Spec.TaskTemplate.ContainerSpec.Env ?? []);

        // The backup service has no healthcheck (as in compose): its one task runs.
        var backup = await stack.ContainersAsync("backup", Cancellation);
        Assert.True(backup.Count == 1 && backup[0].State == "running", $"backup: expected one running container; found {string.Join(", ", backup.Select(c => c.Status))}");
    }

    [Fact, Step(2)]
    public async Task UserRegistersLogsInWritesAndReadsANoteThroughNginx()
    {
        stack.RequireUp();
        var user = await stack.UserAsync();
        using var read = await user.Client.GetAsync($"/api/notes/{user.NoteId}", Cancellation);
        Say($"GET /api/notes/{user.NoteId} with the session through {stack.PublicUrl}: {(int)read.StatusCode}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var body = await read.JsonAsync();
        Assert.Equal("compose check", body.RootElement.GetProperty("title").GetString());
        Assert.Contains("__Host-quartet_session", user.Cookies.Names);

        // The CSRF header is what lets a cookie-authenticated write through.
        var (bare, _) = stack.NewClient();
        using var anonymous = await bare.PostAsJsonAsync("/api/notes", new { title = "no session", body = "", tags = Array.Empty<string>() }, Cancellation);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact, Step(3)]
    public async Task EveryBackendReplicaServesWithTheOneSession()
    {
        stack.RequireUp();
        var user = await stack.UserAsync();
        var backends = await stack.ContainersAsync("backend", Cancellation);
        Assert.Equal(SwarmStack.Replicas, backends.Count);

        // Each answered by whichever replica nginx picks from Docker's DNS.
        var ids = await ReplicaLogs.WriteAndReadAsync(user, writes: 4, reads: 45, Cancellation);
        var (served, missing) = await ReplicaLogs.WhoServedAsync(stack.Node!.Engine!, [.. backends.Select(b => b.ID)], ids, Cancellation);
        Say($"{ids.Count} requests with one session over {SwarmStack.Replicas} Swarm replicas: {string.Join(", ", served.Select(s => $"{s.Key} served {s.Value}"))}");
        Assert.True(missing.Count == 0, $"no replica logged request ids {string.Join(", ", missing)} within 20 s");
        Assert.True(served.Values.All(n => n > 0), $"a replica served none of the requests: {string.Join(", ", served)}");
    }

    [Fact, Step(4)]
    public async Task EveryTaskIsHardenedAsFarAsSwarmAllows()
    {
        stack.RequireUp();
        var engine = stack.Node!.Engine!;
        var bad = new List<string>();
        foreach (var service in new[] { "postgres", "redis", "redis-cache", "backup", "backend", "nginx", "mail-egress" })
        {
            foreach (var container in await stack.ContainersAsync(service, Cancellation))
            {
                var inspect = await engine.Containers.InspectContainerAsync(container.ID, Cancellation);
                var host = inspect.HostConfig;
                Say($"{service}: user={inspect.Config.User} read-only={host.ReadonlyRootfs} cap_drop=[{string.Join(",", host.CapDrop ?? [])}] " +
                    $"security_opt=[{string.Join(",", host.SecurityOpt ?? [])}] memory={host.Memory} pids={host.PidsLimit} log={host.LogConfig?.Type}");
                var user = inspect.Config.User ?? "";
                if (user is "" or "root" or "0" || user.StartsWith("0:", StringComparison.Ordinal))
                {
                    bad.Add($"{service}: runs as root");
                }
                if (!host.ReadonlyRootfs || !(host.CapDrop ?? []).SequenceEqual(["ALL"]) || host.Memory <= 0 || host.PidsLimit is not > 0
                    || host.LogConfig?.Type != "json-file" || host.LogConfig.Config?.ContainsKey("max-size") != true)
                {
                    bad.Add($"{service}: not read-only, capabilities kept, or no memory, PID or log limit");
                }
            }
        }
        Assert.True(bad.Count == 0, string.Join("; ", bad));
    }

    /// <summary>As in compose: nginx cannot reach PostgreSQL or Redis, the backend can, over the overlay networks.</summary>
    [Fact, Step(5)]
    public async Task NginxReachesTheBackendButNotTheDataServers()
    {
        stack.RequireUp();
        var engine = stack.Node!.Engine!;
        var nginx = (await stack.ContainersAsync("nginx", Cancellation)).Single();
        var backend = (await stack.ContainersAsync("backend", Cancellation)).First();
        var reached = new List<string>();
        foreach (var (from, id, host, port) in new[]
        {
            ("backend", backend.ID, "postgres", 5432), ("backend", backend.ID, "redis", 6379),
            ("nginx", nginx.ID, "backend", 8080), ("nginx", nginx.ID, "postgres", 5432), ("nginx", nginx.ID, "redis", 6379),
        })
        {
            if (await ComposeStack.ConnectsAsync(engine, id, host, port, Cancellation))
            {
                reached.Add($"{from} -> {host}:{port}");
            }
        }
        Say($"connections that succeed: {string.Join(", ", reached)}");
        Assert.Equal(["backend -> postgres:5432", "backend -> redis:6379", "nginx -> backend:8080"], reached);
    }

    /// <summary>
    /// <c>./quartet swarm backup</c>: a set taken and verified in the backup task's container (pgBackRest
    /// from the WAL-archiving PostgreSQL, pg_dump, Redis's snapshot over SYNC), which
    /// <c>./quartet swarm backups</c> then lists.
    /// </summary>
    [Fact, Step(6)]
    public async Task SwarmBackupTakesAVerifiedSetInTheBackupTask()
    {
        stack.RequireUp();
        await stack.UserAsync();
        var clock = Stopwatch.StartNew();
        var backup = await stack.QuartetSwarmAsync(["backup"], Cancellation);
        Say($"./quartet swarm backup: exit {backup.ExitCode} after {clock.Elapsed.TotalSeconds:0} s: {backup.Tail(1)}");
        Assert.True(backup.Succeeded, $"./quartet swarm backup exited with {backup.ExitCode}\n{backup.Tail()}");
        var done = ProductionStackTests.BackupDone().Match(backup.Output);
        Assert.True(done.Success, $"./quartet swarm backup named no verified set:\n{backup.Tail()}");
        await AssertListedAsync(done.Groups["id"].Value);
        // The schedule's first set, taken once PostgreSQL answered after the new stack's deploy, without a failed run.
        var scheduled = await stack.CliAsync(["docker", "service", "logs", "--raw", $"{SwarmStack.StackName}_backup"], TimeSpan.FromMinutes(1), Cancellation);
        Say($"the backup service's last lines:\n{scheduled.Tail(5)}");
        Assert.True(scheduled.Succeeded && ProductionStackTests.BackupDone().IsMatch(scheduled.Output) && !scheduled.Output.Contains("scheduled run failed", StringComparison.Ordinal),
            $"the backup service took no scheduled set, or a run failed:\n{scheduled.Tail()}");

        // With no backup task, the deploy of the existing stack stops before changing anything, in one line naming --no-backup.
        var scale = await stack.CliAsync(["docker", "service", "scale", $"{SwarmStack.StackName}_backup=0"], TimeSpan.FromMinutes(2), Cancellation);
        Assert.True(scale.Succeeded, $"scaling the backup service to 0 exited with {scale.ExitCode}\n{scale.Tail()}");
        var image = (await stack.Node!.Engine!.Swarm.InspectServiceAsync($"{SwarmStack.StackName}_backend", Cancellation)).Spec.TaskTemplate.ContainerSpec.Image;
        var refused = await stack.QuartetDeployAsync(ComposeSuite.BackendImage, Cancellation);
        var restore = await stack.CliAsync(["docker", "service", "scale", $"{SwarmStack.StackName}_backup=1"], TimeSpan.FromMinutes(3), Cancellation);
        Say($"./quartet swarm deploy with no backup task: exit {refused.ExitCode}: {refused.Tail(1)}");
        Assert.True(refused.ExitCode == 1 && refused.Tail(1) == "quartet: error: the backup before the deploy failed; fix it, or deploy with --no-backup",
            $"./quartet swarm deploy with no backup task exited with {refused.ExitCode}\n{refused.Tail()}");
        Assert.DoesNotContain("running migrate", refused.Output, StringComparison.Ordinal);
        Assert.Equal(image, (await stack.Node.Engine.Swarm.InspectServiceAsync($"{SwarmStack.StackName}_backend", Cancellation)).Spec.TaskTemplate.ContainerSpec.Image);
        Assert.True(restore.Succeeded, $"scaling the backup service back to 1 exited with {restore.ExitCode}\n{restore.Tail()}");
    }

    /// <summary>
    /// An SMTP login with no password to go with it: <c>./quartet swarm deploy</c> stops with one line
    /// naming the secret and how to make it, before it changes anything.
    /// </summary>
    [Fact, Step(6)]
    public async Task AnSmtpLoginWithAnEmptyPasswordIsRefusedBeforeAnythingChanges()
    {
        var (refused, secrets) = await RefusedDeployAsync("swarm-secrets-no-smtp", secrets => File.WriteAllText(Path.Combine(secrets, "smtp_password"), ""));
        Assert.StartsWith($"quartet: error: QUARTET_SMTP_USERNAME is set, and the secret {secrets}/smtp_password", refused, StringComparison.Ordinal);
    }

    /// <summary>
    /// The backups' passphrase is a secret of the stack (decision 0031): without its file the deploy stops with
    /// one line naming it and how to make it, before it changes anything.
    /// </summary>
    [Fact, Step(6)]
    public async Task AMissingBackupPassphraseIsRefusedBeforeAnythingChanges()
    {
        var (refused, secrets) = await RefusedDeployAsync("swarm-secrets-no-passphrase", secrets => File.Delete(Path.Combine(secrets, "backup_passphrase")));
        Assert.Equal($"quartet: error: the secret {secrets}/backup_passphrase is missing or empty; make it with scripts/generate-secrets.sh", refused);
    }

    /// <summary>
    /// <c>./quartet swarm deploy</c> on a copy of the stack's secrets changed by <paramref name="change"/>: it must stop
    /// with exit 1 and one line (returned) before anything changes, the backend's image included.
    /// </summary>
    private async Task<(string Line, string Secrets)> RefusedDeployAsync(string folder, Action<string> change)
    {
        stack.RequireUp();
        var secrets = Directory.CreateDirectory(Path.Combine(Suite.Work, folder)).FullName;
        foreach (var file in Directory.EnumerateFiles(stack.SecretsDirectory))
        {
            File.Copy(file, Path.Combine(secrets, Path.GetFileName(file)), overwrite: true);
        }
        change(secrets);
        var image = (await stack.Node!.Engine!.Swarm.InspectServiceAsync($"{SwarmStack.StackName}_backend", Cancellation)).Spec.TaskTemplate.ContainerSpec.Image;
        var environment = stack.Environment(ComposeSuite.BackendImage);
        environment["QUARTET_SECRETS_DIR"] = secrets;
        var refused = await Suite.RunAsync([Path.Combine(Suite.Root, "quartet"), "swarm", "deploy", "--no-backup"], environment, TimeSpan.FromMinutes(2), Cancellation);
        Say($"./quartet swarm deploy with the secrets of {folder}: exit {refused.ExitCode}: {refused.Tail(1)}");
        Assert.True(refused.ExitCode == 1, $"./quartet swarm deploy exited with {refused.ExitCode}\n{refused.Tail()}");
        Assert.Single(refused.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(image, (await stack.Node.Engine.Swarm.InspectServiceAsync($"{SwarmStack.StackName}_backend", Cancellation)).Spec.TaskTemplate.ContainerSpec.Image);
        return (refused.Tail(1).Trim(), secrets);
    }

    [Fact, Step(7)]
    public async Task RollingUpdateStartsEachNewReplicaFirstAndFailsNoRequest()
    {
        stack.RequireUp();
        var user = await stack.UserAsync();
        var engine = stack.Node!.Engine!;
        // The stack was deployed on the previous release, with that release's migrations.
        var previous = stack.Previous!;
        var serving = await stack.ContainersAsync("backend", Cancellation);
        Assert.True(serving.Count == SwarmStack.Replicas && serving.All(c => c.Image == previous.Image),
            $"before the update: {string.Join(", ", serving.Select(c => $"{c.ID[..12]} on {c.Image}"))}; expected the previous release {previous}");
        var before = serving.Select(c => c.ID).ToHashSet();
        var added = previous.Release.NewMigrations(Suite.Root);
        var appliedBefore = await AppliedMigrationsAsync();
        Assert.True(!appliedBefore.Overlaps(added), $"the previous release's schema already has {string.Join(", ", appliedBefore.Intersect(added))}");
        // This checkout's backend, under a tag of its own, loaded on the node.
        var version = $"rolled-{Guid.NewGuid():N}"[..19];
        await engine.Images.TagImageAsync(ComposeSuite.BackendImage, new ImageTagParameters { RepositoryName = $"{ComposeSuite.Project}/backend", Tag = version }, Cancellation);
        var image = $"{ComposeSuite.Project}/backend:{version}";

        var running = new List<int>();
        using var load = new RequestLoad(user, stack.NewClient, writers: 2);
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        var sampler = SampleRunningAsync(running, sampling.Token);
        await Task.Delay(TimeSpan.FromSeconds(2), Cancellation);
        var clock = Stopwatch.StartNew();
        var deploy = await stack.QuartetDeployAsync(image, Cancellation);
        var rolled = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(3), Cancellation);
        var result = await load.StopAsync();
        await sampling.CancelAsync();
        await sampler;
        Say($"./quartet swarm deploy from the previous release {previous} to {image}: exit {deploy.ExitCode} after {rolled.TotalSeconds:0} s " +
            $"(migrate of {added.Count} new migrations included: {string.Join(", ", added)}); under load: {result}; " +
            $"running backend containers seen: {running.Min()} to {running.Max()}");
        Assert.True(deploy.Succeeded, $"./quartet swarm deploy exited with {deploy.ExitCode}\n{deploy.Tail()}");
        // The deploy backed the stack up first: a new verified set, before the migrations.
        var backedUp = deploy.Output.IndexOf("quartet: backing up before the deploy", StringComparison.Ordinal);
        var done = ProductionStackTests.BackupDone().Match(deploy.Output);
        Assert.True(backedUp >= 0 && done.Success && done.Index < deploy.Output.IndexOf("quartet: running migrate", StringComparison.Ordinal),
            $"./quartet swarm deploy took no backup before migrating:\n{deploy.Tail(40)}");
        await AssertListedAsync(done.Groups["id"].Value);

        // The new migrations were applied while the previous release served.
        var appliedAfter = await AppliedMigrationsAsync();
        Assert.True(appliedAfter.IsSupersetOf(added), $"after the update the schema lacks {string.Join(", ", added.Except(appliedAfter))}");

        var after = await stack.ContainersAsync("backend", Cancellation);
        Assert.True(after.Count == SwarmStack.Replicas && after.All(c => c.Image == image && !before.Contains(c.ID)),
            $"after the update: {string.Join(", ", after.Select(c => $"{c.ID[..12]} on {c.Image}"))}");
        // Start-first: a new replica runs before an old one is stopped, so there are never fewer.
        Assert.True(running.Min() >= SwarmStack.Replicas && running.Max() > SwarmStack.Replicas,
            $"running backend containers during the update went from {running.Min()} to {running.Max()}; start-first keeps at least {SwarmStack.Replicas}");
        Assert.True(result.Reads > 0 && result.Writes > 0, $"the load did nothing: {result}");
        Assert.True(result.Failed == 0 && result.LoggedOut == 0, $"during the rolling update: {result}");
    }

    /// <summary>
    /// A release whose backend exits at start (its default command is one the binary does not know;
    /// migrate, which names its command, still runs): the first new task fails, Swarm rolls the
    /// service back to the previous image (failure_action: rollback), the deploy says so and exits
    /// non-zero, and the replicas that served all along fail no request.
    /// </summary>
    [Fact, Step(8)]
    public async Task AReleaseThatDoesNotStartIsRolledBackWithNoFailedRequest()
    {
        stack.RequireUp();
        var user = await stack.UserAsync();
        var engine = stack.Node!.Engine!;
        var service = $"{SwarmStack.StackName}_backend";
        var previous = (await engine.Swarm.InspectServiceAsync(service, Cancellation)).Spec.TaskTemplate.ContainerSpec.Image;
        var broken = await BrokenReleaseAsync(previous);

        using var load = new RequestLoad(user, stack.NewClient, writers: 1);
        await Task.Delay(TimeSpan.FromSeconds(2), Cancellation);
        var deploy = await stack.QuartetDeployAsync(broken, Cancellation);
        Say($"./quartet swarm deploy to {broken}: exit {deploy.ExitCode}: {deploy.Tail(1)}");
        Assert.True(deploy.ExitCode == 1 && deploy.Output.Contains("update rollback_", StringComparison.Ordinal),
            $"./quartet swarm deploy of a release that does not start should stop on Swarm's rollback; it exited with {deploy.ExitCode}\n{deploy.Tail()}");

        var clock = Stopwatch.StartNew();
        var state = "";
        while (clock.Elapsed < TimeSpan.FromMinutes(4))
        {
            var inspect = await engine.Swarm.InspectServiceAsync(service, Cancellation);
            state = inspect.UpdateStatus?.State ?? "";
            var backends = await stack.ContainersAsync("backend", Cancellation);
            if (state == "rollback_completed" && inspect.Spec.TaskTemplate.ContainerSpec.Image == previous
                && backends.Count == SwarmStack.Replicas && backends.All(b => b.Image == previous && b.Status.Contains("(healthy)", StringComparison.Ordinal)))
            {
                break;
            }
            await Task.Delay(1000, Cancellation);
        }
        var result = await load.StopAsync();
        Say($"rollback: {state} after {clock.Elapsed.TotalSeconds:0} s more; under load from the deploy on: {result}");
        Assert.True(state == "rollback_completed", $"the backend service's update is {state}, not rollback_completed, 4 min after the deploy stopped");
        Assert.True(result.Reads > 0 && result.Failed == 0 && result.LoggedOut == 0, $"during the failed release and its rollback: {result}");
    }

    /// <summary>The backend image with a default command the binary refuses, committed on the node.</summary>
    private async Task<string> BrokenReleaseAsync(string from)
    {
        var engine = stack.Node!.Engine!;
        var container = await engine.Containers.CreateContainerAsync(new CreateContainerParameters { Image = from }, Cancellation);
        try
        {
            var tag = $"broken-{Guid.NewGuid():N}"[..19];
            await engine.Images.CommitContainerChangesAsync(new CommitContainerChangesParameters
            {
                ContainerID = container.ID,
                RepositoryName = $"{ComposeSuite.Project}/backend",
                Tag = tag,
                Changes = ["CMD [\"no-such-command\"]"],
            }, Cancellation);
            return $"{ComposeSuite.Project}/backend:{tag}";
        }
        finally
        {
            await engine.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters(), Cancellation);
        }
    }

    /// <summary><c>./quartet swarm backups</c> lists the set.</summary>
    private async Task AssertListedAsync(string id)
    {
        var list = await stack.QuartetSwarmAsync(["backups"], Cancellation);
        Say($"./quartet swarm backups: exit {list.ExitCode}\n{list.Tail(6)}");
        Assert.True(list.Succeeded && list.Output.Split('\n').Any(line => line.StartsWith(id + " ", StringComparison.Ordinal)),
            $"./quartet swarm backups (exit {list.ExitCode}) does not list backup {id}:\n{list.Tail()}");
    }

    private async Task SampleRunningAsync(List<int> counts, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                counts.Add((await stack.ContainersAsync("backend", cancellationToken)).Count);
                await Task.Delay(500, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Say(string line) => Suite.Say($"swarm: {line}");

    /// <summary>The migration files the stack's database has applied, by file name.</summary>
    private async Task<HashSet<string>> AppliedMigrationsAsync()
    {
        var postgres = Assert.Single(await stack.ContainersAsync("postgres", Cancellation));
        var query = await stack.CliAsync(["docker", "exec", postgres.ID, "psql", "-h", "/var/run/postgresql", "-U", "quartet", "-d", "quartet", "-AtX", "-v", "ON_ERROR_STOP=1",
            "-c", "SELECT lpad(version::text, 4, '0') || '_' || name || '.sql' FROM schema_migrations"], TimeSpan.FromMinutes(1), Cancellation);
        Assert.True(query.Succeeded, $"reading schema_migrations exited with {query.ExitCode}\n{query.Tail()}");
        return query.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.EndsWith(".sql", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
    }
}
