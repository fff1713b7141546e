using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Quartet.Deploy.Tests.Observability;

/// <summary>
/// PostgreSQL, Redis, a backend whose metrics listen on a port of their own, and nginx in front of
/// it, started once for the class.
/// </summary>
public sealed class MetricsFixture : IAsyncLifetime
{
    private TestStack _stack = null!;

    public BackendServer Backend { get; private set; } = null!;
    public NginxServer Nginx { get; private set; } = null!;
    public int MetricsPort { get; } = Ports.Free();
    public Uri MetricsAddress => new($"http://127.0.0.1:{MetricsPort}/");

    public async ValueTask InitializeAsync()
    {
        _stack = await TestStack.StartAsync(TestContext.Current.CancellationToken);
        var environment = BackendProcess.Environment(_stack, await _stack.CreateDatabaseAsync(), new TestSecrets(_stack));
        environment["Metrics__Port"] = MetricsPort.ToString(CultureInfo.InvariantCulture);
        Backend = await RunningBackend.StartNewAsync(environment);
        Nginx = await TestNginx.StartNewAsync(Backend.BaseAddress);
    }

    public async ValueTask DisposeAsync()
    {
        await Nginx.DisposeAsync();
        await Backend.DisposeAsync();
        await _stack.DisposeAsync();
    }
}

[Trait("Category", "Observability")]
public sealed class MetricsTests(MetricsFixture fixture) : IClassFixture<MetricsFixture>, IDisposable
{
    private static readonly TimeSpan PrometheusWait = TimeSpan.FromSeconds(45);

    private readonly HttpClient _nginx = new() { BaseAddress = fixture.Nginx.BaseAddress };
    private readonly HttpClient _metrics = new() { BaseAddress = fixture.MetricsAddress };
    private readonly HttpClient _backend = new() { BaseAddress = fixture.Backend.BaseAddress };

    public void Dispose()
    {
        _nginx.Dispose();
        _metrics.Dispose();
        _backend.Dispose();
    }

    [Fact]
    public async Task TheMetricsPortServesPrometheusTextWithRequestRuntimeDatabaseAndQuartetSeries()
    {
        await MakeTrafficAsync();

        using var response = await _metrics.GetAsync("/metrics", TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Matches("""(?m)^http_server_request_duration_seconds_count\{[^}]*http_response_status_code="200",http_route="/api/auth/login"[^}]*\} [1-9]""", text);
        Assert.Matches("""(?m)^http_server_request_duration_seconds_count\{[^}]*http_response_status_code="401",http_route="/api/auth/login"[^}]*\} [1-9]""", text);
        Assert.Matches("(?m)^dotnet_gc_heap_total_allocated_bytes_total[{ ]", text);
        Assert.Matches("(?m)^dotnet_thread_pool_thread_count[_{ ]", text);
        Assert.Matches("(?m)^dotnet_process_memory_working_set_bytes[{ ]", text);
        Assert.Matches("""(?m)^db_client_operation_duration_seconds_count\{[^}]*db_client_connection_pool_name="quartet"[^}]*\} [1-9]""", text);
        Assert.Matches("""(?m)^quartet_logins_total\{[^}]*outcome="succeeded"[^}]*\} [1-9]""", text);
        Assert.Matches("""(?m)^quartet_logins_total\{[^}]*outcome="wrong_password"[^}]*\} [1-9]""", text);
        Assert.Matches("(?m)^quartet_sessions_created_total[{ ].* [1-9]", text);
        Assert.Matches("(?m)^quartet_redis_duration_seconds_count[{ ].* [1-9]", text);
        Assert.Matches("""(?m)^quartet_cache_misses_total\{[^}]*cache="page"[^}]*\} [1-9]""", text);
        Assert.Matches("""(?m)^quartet_cache_hits_total\{[^}]*cache="page"[^}]*\} [1-9]""", text);
        Assert.Matches("(?m)^quartet_idempotency_replays_total[{ ].* [1-9]", text);
        // The pool is labelled by its name, never by its connection string.
        Assert.DoesNotContain("Host=", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Password=", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheReadinessChecksAreGaugesWithoutAnyoneAskingHealthReady()
    {
        var clock = Stopwatch.StartNew();
        string text;
        do
        {
            await Task.Delay(500, TestContext.Current.CancellationToken);
            text = await _metrics.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        }
        while (!text.Contains("quartet_readiness_up", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(20));

        Assert.Matches("""(?m)^quartet_readiness_up\{[^}]*check="postgres"[^}]*\} 1$""", text);
        Assert.Matches("""(?m)^quartet_readiness_up\{[^}]*check="redis"[^}]*\} 1$""", text);
        Assert.Matches("""(?m)^quartet_readiness_up\{[^}]*check="schema"[^}]*\} 1$""", text);
        Assert.Matches("(?m)^quartet_migrations_pending[{ ].* 0$", text);
        Assert.Matches("(?m)^quartet_migrations_applied[{ ].* [1-9]", text);
    }

    [Fact]
    public async Task MetricsOnTheServicePortAre404()
    {
        using var response = await _backend.GetAsync("/metrics", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("http_server_request_duration", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken),
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/Metrics")]
    [InlineData("/metrics/")]
    public async Task MetricsThroughNginxAre404(string path)
    {
        using var response = await _nginx.GetAsync(path, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("http_server_request_duration", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<div id=\"root\">", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/health/ready")]
    [InlineData("/api/auth/me")]
    [InlineData("/api/openapi.json")]
    public async Task TheMetricsPortServesNothingElse(string path)
    {
        using var response = await _metrics.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ScrapesAreNeitherLoggedNorCountedAsRequests()
    {
        var before = RequestsCounted(await ScrapeAsync());
        var loggedBefore = MetricsRequestsLogged();
        for (var i = 0; i < 3; i++)
        {
            await ScrapeAsync();
        }
        var after = RequestsCounted(await ScrapeAsync());

        Assert.Equal(before, after);
        Assert.Equal(loggedBefore, MetricsRequestsLogged());
    }

    private int MetricsRequestsLogged()
    {
        const string Marker = "\"Path\":\"/metrics\"";
        var output = fixture.Backend.Output;
        return (output.Length - output.Replace(Marker, "", StringComparison.Ordinal).Length) / Marker.Length;
    }

    /// <summary>A scrape past the exporter's 300 ms response cache, so each one is made afresh.</summary>
    private async Task<string> ScrapeAsync()
    {
        await Task.Delay(400, TestContext.Current.CancellationToken);
        return await _metrics.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
    }

    private static double RequestsCounted(string text) =>
        text.Split('\n').Where(line => line.StartsWith("http_server_request_duration_seconds_count", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    [Fact]
    public async Task PrometheusScrapesTheBackendAndFindsEverySeries()
    {
        DebianTools.Require("prometheus");
        var directory = TestPaths.NewDirectory("prometheus");
        await using var prometheus = new PrometheusServer(directory, Ports.Free(), fixture.MetricsPort);
        await prometheus.StartAsync(TestContext.Current.CancellationToken);
        await MakeTrafficAsync();
        using var client = new HttpClient { BaseAddress = prometheus.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };

        string[] queries =
        [
            $$"""up{job="{{PrometheusServer.Job}}"} == 1""",
            """http_server_request_duration_seconds_count{http_route="/api/auth/login",http_response_status_code="200"} > 0""",
            """http_server_request_duration_seconds_bucket{http_route="/api/auth/login",le="+Inf"} > 0""",
            "dotnet_gc_heap_total_allocated_bytes_total > 0",
            "dotnet_gc_collections_total",
            "db_client_operation_duration_seconds_count > 0",
            "db_client_connection_count",
            """quartet_logins_total{outcome="succeeded"} > 0""",
            """quartet_readiness_up{check="postgres"} == 1""",
        ];
        var clock = Stopwatch.StartNew();
        var missing = queries.ToList();
        while (missing.Count > 0 && clock.Elapsed < PrometheusWait)
        {
            foreach (var query in missing.ToList())
            {
                if (await HasResultAsync(client, query))
                {
                    missing.Remove(query);
                }
            }
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }

        Assert.True(missing.Count == 0, $"Prometheus found no result within {PrometheusWait.TotalSeconds:0} s for: {string.Join("; ", missing)}\n{prometheus.LogTail(20)}");
    }

    [Fact]
    public async Task TheAlertRulesAndTheComposeConfigurationPassPromtool()
    {
        DebianTools.Require("promtool");

        var rules = await PromtoolAsync("check", "rules", "alerts.yml");
        var config = await PromtoolAsync("check", "config", "prometheus.yml");

        Assert.True(rules.Succeeded, rules.Output + rules.Error);
        Assert.Contains("SUCCESS: 10 rules found", rules.Output, StringComparison.Ordinal);
        Assert.True(config.Succeeded, config.Output + config.Error);
    }

    [Fact]
    public async Task TheAlertRulesPassTheirUnitTests()
    {
        DebianTools.Require("promtool");

        var result = await PromtoolAsync("test", "rules", "alerts.test.yml", "alerts.backups.test.yml");

        Assert.True(result.Succeeded, result.Output + result.Error);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(result.Output, "SUCCESS"));
    }

    private static Task<CommandResult> PromtoolAsync(params string[] arguments) =>
        CommandRunner.RunAsync(new Command("promtool", arguments) { WorkingDirectory = Path.Combine(TestPaths.Repository, "deploy", "prometheus") },
            TestContext.Current.CancellationToken, timeout: TimeSpan.FromSeconds(60));

    /// <summary>
    /// Through nginx: a browser's login and a wrong password; then, as an API client (the production
    /// cookie is Secure, and this is plain http), a note created and its create retried with the same
    /// Idempotency-Key, and the first page listed twice (a miss, then a hit).
    /// </summary>
    private async Task MakeTrafficAsync()
    {
        var cancellation = TestContext.Current.CancellationToken;
        var email = ApiClient.NewEmail();
        await _nginx.RegisterAsync(email);
        await _nginx.LoginAsync(email);
        using var wrong = await _nginx.PostAsJsonAsync("/api/auth/login", new { email, password = "not the password at all" }, cancellation);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        var (access, _) = await _nginx.TokenAsync(email);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var create = new HttpRequestMessage(HttpMethod.Post, "/api/notes")
            {
                Headers = { { "Idempotency-Key", "metrics-test-note" } },
                Content = JsonContent.Create(new { title = "metrics", body = "counted" }),
            };
            using var created = await _nginx.SendAsync(create.WithBearer(access), cancellation);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        for (var read = 0; read < 2; read++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/notes?limit=20");
            using var list = await _nginx.SendAsync(request.WithBearer(access), cancellation);
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        }
    }

    private static async Task<bool> HasResultAsync(HttpClient prometheus, string query)
    {
        try
        {
            using var response = await prometheus.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(query), TestContext.Current.CancellationToken);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            return response.IsSuccessStatusCode && body.RootElement.GetProperty("data").GetProperty("result").GetArrayLength() > 0;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return false;
        }
    }
}
