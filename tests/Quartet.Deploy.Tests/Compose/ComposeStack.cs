using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>A user who registered, logged in and wrote a note through nginx; later checks reuse the session.</summary>
public sealed record StackUser(string Email, HttpClient Client, CookieKeeper Cookies, Guid NoteId)
{
    /// <summary>Registers a new user through <paramref name="client"/> (nginx), logs in (session and CSRF token) and writes a note.</summary>
    public static async Task<StackUser> CreateAsync(HttpClient client, CookieKeeper cookies, string who, ComposeLog log)
    {
        var email = ApiClient.NewEmail(who);
        log.Say($"register {email} and log in through nginx at {client.BaseAddress}");
        await client.RegisterAsync(email);
        await client.LoginAsync(email);
        var note = await client.CreateNoteAsync("compose check", "written through nginx", ["ci"]);
        log.Say($"created note {note.Id}");
        return new StackUser(email, client, cookies, note.Id);
    }
}

/// <summary>
/// One flavour of the stack, started once for its tests the way an operator starts it
/// (<c>./quartet up</c>, or <c>./quartet up --prod</c> with secrets from scripts/generate-secrets.sh),
/// on a free loopback port; taken down with its volumes when the tests are done, also when one fails.
/// With <paramref name="composeV1"/>, the Docker CLI it runs has no compose plugin, so ./quartet
/// picks <c>docker-compose</c> (v1).
/// </summary>
public abstract class ComposeStack(ComposeSuite suite, bool production, bool composeV1 = false) : IAsyncLifetime
{
    public static readonly IReadOnlyList<string> LongRunning = ["postgres", "redis", "redis-cache", "backend", "nginx"];

    private readonly List<HttpClient> _clients = [];
    private StackUser? _user;
    private string? _notStarted;

    public ComposeSuite Suite => suite;

    public bool Production => production;

    public string Flavor => production ? "prod" : "dev";

    public string UpCommand => production ? "./quartet up --prod" : "./quartet up";

    /// <summary>The session cookie's name: the production one is <c>__Host-</c> prefixed and Secure.</summary>
    public string SessionCookie => production ? "__Host-quartet_session" : "quartet_session";

    public int Port { get; private set; }

    /// <summary>The major version of the compose CLI that starts this stack, as its containers' com.docker.compose.version label begins.</summary>
    public string ComposeMajor => composeV1 || suite.ComposeCli is ["docker-compose"] ? "1" : "2";

    /// <summary>The suite's settings, and for v1 a DOCKER_CONFIG without the compose plugin.</summary>
    public Dictionary<string, string?> Environment()
    {
        var environment = suite.Environment(Port);
        if (composeV1)
        {
            environment["DOCKER_CONFIG"] = suite.PluginFreeDockerConfig;
        }
        return environment;
    }

    /// <summary>When <c>./quartet up</c> began, for the engine's events since then.</summary>
    public DateTimeOffset UpStarted { get; private set; }

    public HostCommandResult? Up { get; private set; }

    /// <summary>The admin password production's secrets were made from (never stored by the stack itself).</summary>
    public string AdminPasswordFile => Path.Combine(suite.Work, $"admin_password_{Flavor}");

    public async ValueTask InitializeAsync()
    {
        if (!suite.ImagesBuilt)
        {
            return;
        }
        var cancellationToken = TestContext.Current.CancellationToken;
        if (composeV1 && await WhyNoComposeV1Async(cancellationToken) is { } reason)
        {
            _notStarted = reason;
            return;
        }
        if (production)
        {
            var secrets = await suite.GenerateSecretsAsync(suite.SecretsDirectory, AdminPasswordFile, cancellationToken);
            if (!secrets.Succeeded)
            {
                _notStarted = $"scripts/generate-secrets.sh exited with {secrets.ExitCode} before {UpCommand}\n{secrets.Tail()}";
                return;
            }
        }
        Port = Ports.Free();
        suite.Say($"{Flavor}: published port {Port}");
        UpStarted = DateTimeOffset.UtcNow;
        Up = await suite.RunAsync([Path.Combine(suite.Root, "quartet"), "up", .. production ? ["--prod"] : Array.Empty<string>()],
            Environment(), TimeSpan.FromMinutes(15), cancellationToken);
    }

    /// <summary>Why ./quartet cannot pick compose v1 on this host, or null.</summary>
    private async Task<string?> WhyNoComposeV1Async(CancellationToken cancellationToken)
    {
        if (Tools.OnPath("docker-compose") is null)
        {
            return "docker-compose (v1) is not installed";
        }
        var plugin = await suite.RunAsync(["docker", "compose", "version"], Environment(), TimeSpan.FromSeconds(20), cancellationToken);
        return plugin.Succeeded
            ? "the Docker CLI has a compose plugin outside DOCKER_CONFIG, so ./quartet always picks v2 on this host"
            : null;
    }

    /// <summary>
    /// The stack is up; else the test fails (or is skipped) with the reason, and with what
    /// <c>./quartet up</c> printed last when <paramref name="showOutput"/> (once is enough).
    /// </summary>
    public void RequireUp(bool showOutput = false)
    {
        suite.RequireImages();
        if (composeV1 && _notStarted is not null && System.Environment.GetEnvironmentVariable("CI") != "true")
        {
            Assert.Skip($"compose v1: {_notStarted}");
        }
        Assert.True(_notStarted is null, _notStarted);
        Assert.True(Up is { Succeeded: true },
            $"{UpCommand} exited with {Up?.ExitCode} (log: {suite.Log.Path})" + (showOutput ? $"\n{Up?.Tail(20)}" : ""));
    }

    public Task<HostCommandResult> ComposeAsync(CancellationToken cancellationToken, params string[] arguments) =>
        suite.ComposeAsync(production, Port, arguments, cancellationToken, composeV1 ? ["docker-compose"] : null);

    /// <summary>A client of the published port that keeps its cookies.</summary>
    public (HttpClient Client, CookieKeeper Cookies) NewClient()
    {
        var cookies = new CookieKeeper();
        var client = new HttpClient(cookies) { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(15) };
        lock (_clients)
        {
            _clients.Add(client);
        }
        return (client, cookies);
    }

    /// <summary>The stack's user: registered, logged in and holding a note; made on first use.</summary>
    public async Task<StackUser> UserAsync()
    {
        if (_user is not null)
        {
            return _user;
        }
        var (client, cookies) = NewClient();
        _user = await StackUser.CreateAsync(client, cookies, $"ci-{Flavor}", suite.Log);
        return _user;
    }

    public async Task<ContainerListResponse> ContainerAsync(string service, CancellationToken cancellationToken)
    {
        var containers = await suite.ContainersAsync(cancellationToken);
        return containers.FirstOrDefault(c => ServiceOf(c.Labels) == service)
            ?? throw new Xunit.Sdk.XunitException($"the {Flavor} stack has no {service} container");
    }

    public async Task<ContainerInspectResponse> InspectAsync(string service, CancellationToken cancellationToken) =>
        await suite.Docker.Containers.InspectContainerAsync((await ContainerAsync(service, cancellationToken)).ID, cancellationToken);

    public static string ServiceOf(IDictionary<string, string>? labels) =>
        labels is not null && labels.TryGetValue("com.docker.compose.service", out var service) ? service : "?";

    /// <summary>Waits until every service runs and is healthy; returns the ones that are not (with their state) when the time is up.</summary>
    public async Task<IReadOnlyList<string>> WaitHealthyAsync(TimeSpan limit, CancellationToken cancellationToken, params IReadOnlyList<string> services)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var containers = await suite.ContainersAsync(cancellationToken);
            var pending = new List<string>();
            foreach (var service in services)
            {
                var container = containers.FirstOrDefault(c => ServiceOf(c.Labels) == service);
                var state = container is null ? "no container" : await StateAsync(container.ID, cancellationToken);
                if (state != "running/healthy")
                {
                    pending.Add($"{service} ({state})");
                }
            }
            if (pending.Count == 0 || deadline.Elapsed >= limit)
            {
                return pending;
            }
            await Task.Delay(1000, cancellationToken);
        }
    }

    public async Task<string> StateAsync(string id, CancellationToken cancellationToken)
    {
        var state = (await suite.Docker.Containers.InspectContainerAsync(id, cancellationToken)).State;
        return $"{state.Status}/{state.Health?.Status ?? "no health check"}";
    }

    /// <summary>
    /// A TCP connection from inside the container succeeds: bash's /dev/tcp, or nc where there is no
    /// bash (as in the nginx image).
    /// </summary>
    public Task<bool> ConnectsAsync(string containerId, string host, int port, CancellationToken cancellationToken) =>
        ConnectsAsync(suite.Docker, containerId, host, port, cancellationToken);

    /// <summary>The same on any engine (the Swarm test's node).</summary>
    public static async Task<bool> ConnectsAsync(IDockerClient docker, string containerId, string host, int port, CancellationToken cancellationToken)
    {
        const string Probe = """
            if command -v bash >/dev/null 2>&1; then
              exec timeout 5 bash -c "exec 3<>/dev/tcp/$0/$1" 2>/dev/null
            else
              exec nc -w 5 "$0" "$1" </dev/null >/dev/null 2>&1
            fi
            """;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(20));
        var exec = await docker.Exec.ExecCreateContainerAsync(containerId, new ContainerExecCreateParameters
        {
            Cmd = ["sh", "-c", Probe, host, port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            AttachStdout = true,
            AttachStderr = true,
        }, limit.Token);
        using (var stream = await docker.Exec.StartAndAttachContainerExecAsync(exec.ID, tty: false, limit.Token))
        {
            await stream.ReadOutputToEndAsync(limit.Token);
        }
        var result = await docker.Exec.InspectContainerExecAsync(exec.ID, limit.Token);
        return result.ExitCode == 0;
    }

    /// <summary>Runs a command inside the container through the Docker API; its exit code and standard output.</summary>
    public async Task<(long ExitCode, string Output)> ExecAsync(string containerId, IList<string> command, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(20));
        var exec = await suite.Docker.Exec.ExecCreateContainerAsync(containerId, new ContainerExecCreateParameters
        {
            Cmd = command,
            AttachStdout = true,
            AttachStderr = true,
        }, limit.Token);
        string output;
        using (var stream = await suite.Docker.Exec.StartAndAttachContainerExecAsync(exec.ID, tty: false, limit.Token))
        {
            (output, _) = await stream.ReadOutputToEndAsync(limit.Token);
        }
        return ((await suite.Docker.Exec.InspectContainerExecAsync(exec.ID, limit.Token)).ExitCode, output);
    }

    /// <summary>GET /api/auth/me with the user's session answers 200 within <paramref name="limit"/>.</summary>
    public static async Task<bool> SessionWorksWithinAsync(StackUser user, TimeSpan limit, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await user.Client.GetAsync("/api/auth/me", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            if (deadline.Elapsed >= limit)
            {
                return false;
            }
            await Task.Delay(500, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }
        if (Up is not null)
        {
            await ComposeAsync(CancellationToken.None, "down", "-v", "--remove-orphans", "--timeout", "10");
        }
    }
}

public sealed class DevelopmentStack(ComposeSuite suite) : ComposeStack(suite, production: false);

public sealed class ProductionStack(ComposeSuite suite) : ComposeStack(suite, production: true);

public sealed class DevelopmentStackOnComposeV1(ComposeSuite suite) : ComposeStack(suite, production: false, composeV1: true);
