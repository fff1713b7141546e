using System.Globalization;
using System.Net;
using System.Text.Json;
using Docker.DotNet.Models;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// The checks both flavours must pass, on a stack started once for the class. The last one takes
/// the stack down with its volumes.
/// </summary>
public abstract class StackTests<TStack>(TStack stack) where TStack : ComposeStack
{
    protected TStack Stack => stack;

    protected ComposeSuite Suite => stack.Suite;

    protected static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    protected void Say(string line) => Suite.Log.Say(line);

    [Fact, Step(1)]
    public async Task UpMakesEveryServiceHealthy()
    {
        Suite.RequireImages();
        Say($"{stack.UpCommand} (QUARTET_MODE=compose, project {ComposeSuite.Project}, 127.0.0.1:{stack.Port}): exit {stack.Up?.ExitCode}");
        foreach (var line in (stack.Up?.Output ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"  {line}");
        }
        stack.RequireUp(showOutput: true);
        var pending = await stack.WaitHealthyAsync(TimeSpan.Zero, Cancellation, ComposeStack.LongRunning);
        Assert.True(pending.Count == 0, $"{stack.UpCommand} returned, but not running and healthy: {string.Join(", ", pending)}");
        await AssertMadeByComposeAsync(stack);
    }

    /// <summary>Every container of the project carries the version of the compose CLI ./quartet picked.</summary>
    internal static async Task AssertMadeByComposeAsync(ComposeStack stack)
    {
        var versions = (await stack.Suite.ContainersAsync(Cancellation))
            .Select(c => $"{ComposeStack.ServiceOf(c.Labels)} {(c.Labels.TryGetValue("com.docker.compose.version", out var version) ? version : "(no version label)")}")
            .ToList();
        stack.Suite.Log.Say($"made by compose: {string.Join(", ", versions)}");
        Assert.NotEmpty(versions);
        Assert.All(versions, v => Assert.Matches($@"^\S+ {stack.ComposeMajor}\.", v));
    }

    [Fact, Step(2)]
    public async Task ServicesStartInHealthOrder()
    {
        stack.RequireUp();
        var migrate = await stack.InspectAsync("migrate", Cancellation);
        var backend = await stack.InspectAsync("backend", Cancellation);
        Say($"migrate ran {migrate.State.StartedAt} to {migrate.State.FinishedAt}, exit {migrate.State.ExitCode}; backend started {backend.State.StartedAt}");
        Assert.True(migrate.State.ExitCode == 0, $"migrate exited with {migrate.State.ExitCode}");
        var migrateStarted = Nanoseconds(migrate.State.StartedAt);
        Assert.True(Nanoseconds(migrate.State.FinishedAt) <= Nanoseconds(backend.State.StartedAt),
            $"the backend started at {backend.State.StartedAt}, before migrate finished at {migrate.State.FinishedAt}");

        // Health changes are not kept in the container's state (its log holds the last five checks
        // only), so they come from the engine's events since ./quartet up began.
        var events = new Collector<Message>();
        using (var limit = CancellationTokenSource.CreateLinkedTokenSource(Cancellation))
        {
            limit.CancelAfter(TimeSpan.FromSeconds(30));
            await Suite.Docker.System.MonitorEventsAsync(new ContainerEventsParameters
            {
                Since = stack.UpStarted.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                Until = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                Filters = new Dictionary<string, IDictionary<string, bool>>(ComposeSuite.ProjectFilter())
                {
                    ["type"] = new Dictionary<string, bool> { ["container"] = true },
                },
            }, events, limit.Token);
        }
        long? First(string service, string status) =>
            events.Items.Where(e => ComposeStack.ServiceOf(e.Actor?.Attributes) == service && e.Status == status)
                .Select(e => (long?)e.TimeNano).FirstOrDefault();
        var postgresHealthy = First("postgres", "health_status: healthy");
        var redisHealthy = First("redis", "health_status: healthy");
        var backendHealthy = First("backend", "health_status: healthy");
        var nginxStarted = First("nginx", "start");
        Say($"postgres healthy {Show(postgresHealthy)}, redis healthy {Show(redisHealthy)}, migrate started {Show(migrateStarted)}, " +
            $"backend healthy {Show(backendHealthy)}, nginx started {Show(nginxStarted)}");

        Assert.True(postgresHealthy is not null, "the engine reported no healthy event for postgres");
        Assert.True(redisHealthy is not null, "the engine reported no healthy event for redis");
        Assert.True(backendHealthy is not null, "the engine reported no healthy event for the backend");
        Assert.True(nginxStarted is not null, "the engine reported no start event for nginx");
        Assert.True(postgresHealthy <= migrateStarted, $"migrate started at {Show(migrateStarted)}, before postgres was healthy at {Show(postgresHealthy)}");
        Assert.True(redisHealthy <= migrateStarted, $"migrate started at {Show(migrateStarted)}, before redis was healthy at {Show(redisHealthy)}");
        Assert.True(backendHealthy <= nginxStarted, $"nginx started at {Show(nginxStarted)}, before the backend was healthy at {Show(backendHealthy)}");
    }

    [Fact, Step(3)]
    public async Task RegisterLogInAndWriteANoteThroughNginx()
    {
        stack.RequireUp();
        var user = await stack.UserAsync();
        Say($"registered and logged in as {user.Email}, created note {user.NoteId} through 127.0.0.1:{stack.Port}");
        var setCookie = user.Cookies.SetCookie(stack.SessionCookie);
        Assert.True(setCookie is not null, $"login set no {stack.SessionCookie} cookie (it set: {string.Join(", ", user.Cookies.Names)})");
        var attributes = setCookie.Split(';').Skip(1).Select(a => a.Trim().ToLowerInvariant()).ToList();
        Say($"{stack.SessionCookie} attributes: {string.Join("; ", attributes)}");
        Assert.Contains("httponly", attributes);
        if (stack.Production)
        {
            Assert.True(attributes.Contains("secure"), $"the production session cookie is not Secure: {string.Join("; ", attributes)}");
        }

        using var response = await user.Client.GetAsync($"/api/notes/{user.NoteId}", Cancellation);
        var body = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"reading the note back answered {(int)response.StatusCode}: {body}");
        using var note = JsonDocument.Parse(body);
        Assert.Equal("compose check", note.RootElement.GetProperty("title").GetString());
        Say($"GET /api/notes/{user.NoteId}: 200, title \"compose check\"");
    }

    [Fact, Step(4)]
    public async Task TheRootServesTheSpa()
    {
        stack.RequireUp();
        var (client, _) = stack.NewClient();
        using var response = await client.GetAsync("/", Cancellation);
        var body = await response.Content.ReadAsStringAsync(Cancellation);
        Say($"GET /: {(int)response.StatusCode} {response.Content.Headers.ContentType}, {body.Length} characters");
        Assert.True(response.StatusCode == HttpStatusCode.OK && body.Contains("<html", StringComparison.OrdinalIgnoreCase),
            $"GET / answered {(int)response.StatusCode} without the SPA: {body[..Math.Min(200, body.Length)]}");
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact, Step(5)]
    public async Task OnlyNginxAndTheDevelopmentInboxPublishPortsOnLoopback()
    {
        stack.RequireUp();
        var expected = $"127.0.0.1:{stack.Port}->8080/tcp";
        var inbox = $"127.0.0.1:{Suite.MailPort}->1080/tcp";
        var bad = new List<string>();
        var services = new List<string>();
        foreach (var container in await Suite.ContainersAsync(Cancellation))
        {
            var inspect = await Suite.Docker.Containers.InspectContainerAsync(container.ID, Cancellation);
            var service = ComposeStack.ServiceOf(inspect.Config.Labels);
            services.Add(service);
            var bindings = (inspect.HostConfig.PortBindings ?? new Dictionary<string, IList<PortBinding>>())
                .SelectMany(p => (p.Value ?? []).Select(b => $"{b.HostIP}:{b.HostPort}->{p.Key}"))
                .ToList();
            var shown = bindings.Count == 0 ? "nothing" : string.Join(", ", bindings);
            Say($"{service} publishes {shown}");
            if (service == "nginx")
            {
                if (!bindings.SequenceEqual([expected]))
                {
                    bad.Add($"nginx publishes {shown}, not {expected}");
                }
            }
            else if (service == "maildev")
            {
                if (!bindings.SequenceEqual([inbox]))
                {
                    bad.Add($"maildev publishes {shown}, not {inbox}");
                }
            }
            else if (bindings.Count > 0)
            {
                bad.Add($"{service} publishes {shown}");
            }
        }
        Assert.True(services.Contains("nginx"), $"no nginx container (found: {string.Join(", ", services)})");
        Assert.True(bad.Count == 0, string.Join("; ", bad));
    }

    [Fact, Step(6)]
    public Task NginxCannotReachPostgresWhileTheBackendCan() => AssertOnlyTheBackendReachesAsync("postgres", 5432);

    [Fact, Step(7)]
    public Task NginxCannotReachRedisWhileTheBackendCan() => AssertOnlyTheBackendReachesAsync("redis", 6379);

    [Fact, Step(8)]
    public Task NginxCannotReachTheRedisCacheWhileTheBackendCan() => AssertOnlyTheBackendReachesAsync("redis-cache", 6379);

    /// <summary>
    /// Both Redis services as deploy/redis/redis-start.sh configures them: the default user cannot log in,
    /// the backend's user reaches keys under quartet: and none of the administration; state and cache
    /// evict differently (the backend's own use of them is the rest of this class).
    /// </summary>
    [Theory, Step(9)]
    [InlineData("redis")]
    [InlineData("redis-cache")]
    public async Task RedisLetsOnlyTheBackendsUserInAndOnlyToItsKeysAndCommands(string service)
    {
        stack.RequireUp();
        async Task<string> Cli(string user, params string[] command)
        {
            var quoted = string.Join(' ', command.Select(c => "'" + c + "'"));
            var result = await stack.ComposeAsync(Cancellation, "exec", "-T", service, "sh", "-c",
                $"REDISCLI_AUTH=\"$(cat /run/secrets/redis_password)\" redis-cli --user {user} --no-auth-warning {quoted} 2>&1");
            return result.Output.Trim();
        }
        var key = $"quartet:compose-check:{Guid.NewGuid():N}";
        var answers = new Dictionary<string, string>
        {
            ["default PING"] = await Cli("default", "PING"),
            ["SET own key"] = await Cli("quartet", "SET", key, "x", "PX", "60000"),
            ["GET own key"] = await Cli("quartet", "GET", key),
            ["GET other key"] = await Cli("quartet", "GET", "other:key"),
            ["FLUSHALL"] = await Cli("quartet", "FLUSHALL"),
            ["CONFIG SET"] = await Cli("quartet", "CONFIG", "SET", "maxmemory", "0"),
            ["KEYS"] = await Cli("quartet", "KEYS", "*"),
            ["DEBUG"] = await Cli("quartet", "DEBUG", "SLEEP", "0"),
        };
        Say($"{service}: " + string.Join("; ", answers.Select(a => $"{a.Key} -> {a.Value.ReplaceLineEndings(" ")}")));
        Assert.Matches("WRONGPASS|NOAUTH", answers["default PING"]);
        Assert.Equal("OK", answers["SET own key"]);
        Assert.Equal("x", answers["GET own key"]);
        Assert.Contains("NOPERM", answers["GET other key"], StringComparison.Ordinal);
        Assert.Contains("NOPERM", answers["FLUSHALL"], StringComparison.Ordinal);
        Assert.Contains("NOPERM", answers["CONFIG SET"], StringComparison.Ordinal);
        Assert.Contains("NOPERM", answers["KEYS"], StringComparison.Ordinal);
        Assert.Matches("NOPERM|DEBUG command not allowed", answers["DEBUG"]);
    }

    /// <summary>
    /// Without sending a packet anywhere: every network the backend is on is internal, and its routing
    /// tables (read inside it through the Docker API) send nothing out through any other network. The
    /// engine still gives a container on internal networks only a default route, through one of those
    /// networks' bridges, where its isolation rules drop every packet not addressed to that network; so
    /// each default route must leave through an interface of an internal network, and none may leave
    /// through anything else.
    /// </summary>
    [Fact, Step(10)]
    public async Task TheBackendHasNoRouteOutOfTheHost()
    {
        stack.RequireUp();
        var backend = await stack.InspectAsync("backend", Cancellation);
        var internalAddresses = new List<IPAddress>();
        foreach (var (name, endpoint) in backend.NetworkSettings.Networks)
        {
            var network = await Suite.Docker.Networks.InspectNetworkAsync(endpoint.NetworkID, Cancellation);
            Say($"backend network {network.Name}: internal={network.Internal}, address {endpoint.IPAddress}");
            Assert.True(network.Internal, $"the backend is on {network.Name}, which is not internal");
            internalAddresses.Add(IPAddress.Parse(endpoint.IPAddress));
        }
        Assert.True(internalAddresses.Count >= 2, $"the backend is on {internalAddresses.Count} networks");

        var (exit, tables) = await stack.ExecAsync(backend.ID, ["sh", "-c", "cat /proc/net/route; echo ---; cat /proc/net/ipv6_route 2>/dev/null || true"], Cancellation);
        Assert.True(exit == 0, $"reading the routing tables exited with {exit}: {tables}");
        var parts = tables.Split("---\n");
        // /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ..., addresses in host (little-endian) order.
        var ipv4 = parts[0].Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(line => line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(r => (Interface: r[0], Destination: Address(r[1]), Mask: Address(r[7]))).ToList();
        Say($"backend: IPv4 routes {string.Join(", ", ipv4.Select(r => $"{r.Interface} {r.Destination}/{r.Mask}"))}");
        Assert.NotEmpty(ipv4);
        // Each interface's own network: the connected route that holds one of the backend's internal addresses.
        var internalInterfaces = ipv4.Where(r => r.Mask.GetAddressBytes().Any(b => b != 0)
                && internalAddresses.Any(a => InNetwork(a, r.Destination, r.Mask)))
            .Select(r => r.Interface).ToHashSet();
        foreach (var route in ipv4.Where(r => r.Mask.Equals(IPAddress.Any)))
        {
            Assert.True(internalInterfaces.Contains(route.Interface),
                $"the backend's default route leaves through {route.Interface}, which is not on an internal network");
        }
        foreach (var route in ipv4)
        {
            Assert.True(route.Interface == "lo" || internalInterfaces.Contains(route.Interface),
                $"a route through {route.Interface}, which is not on an internal network");
        }
        // /proc/net/ipv6_route: destination, prefix length, ..., interface last. No IPv6 default route
        // outside the loopback's own unreachable entry.
        var ipv6 = (parts.Length > 1 ? parts[1] : "").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.DoesNotContain(ipv6, r => r[0] == new string('0', 32) && r[1] == "00" && r[^1] != "lo");
    }

    private static IPAddress Address(string littleEndianHex) =>
        new(BitConverter.GetBytes(uint.Parse(littleEndianHex, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));

    private static bool InNetwork(IPAddress address, IPAddress network, IPAddress mask)
    {
        var (a, n, m) = (address.GetAddressBytes(), network.GetAddressBytes(), mask.GetAddressBytes());
        return a.Length == 4 && Enumerable.Range(0, 4).All(i => (a[i] & m[i]) == n[i]);
    }

    [Fact, Step(11)]
    public async Task NginxAnswersOnlyItsHostNames()
    {
        stack.RequireUp();
        var (client, _) = stack.NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/auth/me");
        request.Headers.Host = "rebound.example";
        using var foreign = await client.SendAsync(request, Cancellation);
        using var own = await client.GetAsync("/api/auth/me", Cancellation);
        Say($"GET /api/auth/me as rebound.example: {(int)foreign.StatusCode}; as 127.0.0.1: {(int)own.StatusCode}");

        Assert.Equal(HttpStatusCode.MisdirectedRequest, foreign.StatusCode);
        Assert.Contains("urn:quartet:problem:unknown-host", await foreign.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, own.StatusCode);
        Assert.True(own.Headers.CacheControl?.NoStore, "no Cache-Control: no-store through nginx");
    }

    [Fact, Step(100)]
    public async Task DownWithVolumesLeavesNoContainerNetworkOrVolume()
    {
        stack.RequireUp();
        var down = await stack.ComposeAsync(Cancellation, "down", "-v", "--remove-orphans", "--timeout", "20");
        Assert.True(down.Succeeded, $"down -v exited with {down.ExitCode}\n{down.Tail()}");
        var filter = ComposeSuite.ProjectFilter();
        var containers = await Suite.ContainersAsync(Cancellation);
        var networks = await Suite.Docker.Networks.ListNetworksAsync(new NetworksListParameters { Filters = filter }, Cancellation);
        var volumes = await Suite.Docker.Volumes.ListAsync(new VolumesListParameters { Filters = filter }, Cancellation);
        var left = containers.Select(c => $"container {string.Join(",", c.Names)}")
            .Concat(networks.Select(n => $"network {n.Name}"))
            .Concat((volumes.Volumes ?? []).Select(v => $"volume {v.Name}"))
            .ToList();
        Say($"after down -v: {(left.Count == 0 ? "nothing of the project is left" : string.Join(", ", left))}");
        Assert.True(left.Count == 0, $"left behind: {string.Join(", ", left)}");
    }

    /// <summary>nginx reaches the service neither by name nor by address, while the backend (the control) does.</summary>
    private async Task AssertOnlyTheBackendReachesAsync(string service, int port)
    {
        stack.RequireUp();
        var nginx = await stack.ContainerAsync("nginx", Cancellation);
        var backend = await stack.ContainerAsync("backend", Cancellation);
        var target = await stack.InspectAsync(service, Cancellation);
        var address = target.NetworkSettings.Networks?.Values.Select(n => n.IPAddress).FirstOrDefault(a => !string.IsNullOrEmpty(a));
        Assert.True(address is not null, $"{service} has no address");

        var control = await stack.ConnectsAsync(backend.ID, service, port, Cancellation);
        Say($"backend -> {service}:{port}: {(control ? "connected" : "refused")}");
        Assert.True(control, $"control failed: the backend cannot reach {service}:{port}");
        var byName = await stack.ConnectsAsync(nginx.ID, service, port, Cancellation);
        Say($"nginx -> {service}:{port}: {(byName ? "connected" : "no route")}");
        Assert.False(byName, $"nginx reached {service}:{port} by name");
        var byAddress = await stack.ConnectsAsync(nginx.ID, address, port, Cancellation);
        Say($"nginx -> {address}:{port}: {(byAddress ? "connected" : "no route")}");
        Assert.False(byAddress, $"nginx reached {service} at {address}:{port}");
    }

    /// <summary>Nanoseconds since the epoch of the engine's RFC 3339 times (nine fractional digits, UTC).</summary>
    internal static long Nanoseconds(string time)
    {
        var dot = time.IndexOf('.');
        var whole = DateTimeOffset.Parse(dot < 0 ? time : time[..dot] + "Z", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var fraction = dot < 0 ? "" : time[(dot + 1)..].TrimEnd('Z');
        return (whole.ToUnixTimeSeconds() * 1_000_000_000) + long.Parse(fraction.PadRight(9, '0')[..9], CultureInfo.InvariantCulture);
    }

    private static string Show(long? nanoseconds) =>
        nanoseconds is { } n ? DateTimeOffset.FromUnixTimeMilliseconds(n / 1_000_000).ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : "never";
}

/// <summary>Progress reports gathered as they come (Progress&lt;T&gt; would post them later, on the thread pool).</summary>
internal sealed class Collector<T> : IProgress<T>
{
    private readonly List<T> _items = [];

    public IReadOnlyList<T> Items
    {
        get
        {
            lock (_items)
            {
                return [.. _items];
            }
        }
    }

    public void Report(T value)
    {
        lock (_items)
        {
            _items.Add(value);
        }
    }
}
