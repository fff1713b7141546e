using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Quartet.Deploy.Tests.Nginx;

/// <summary>The nginx template, served by a real nginx in front of the real backend, checked over HTTP.</summary>
/// <summary>
/// PostgreSQL, Redis, a backend and an nginx in front of it, started once for the class (its tests
/// only read, or restart what they stop).
/// </summary>
public sealed class NginxFixture : IAsyncLifetime
{
    private TestStack _stack = null!;

    public BackendServer Backend { get; private set; } = null!;
    public NginxServer Nginx { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = await TestStack.StartAsync(TestContext.Current.CancellationToken);
        Backend = await RunningBackend.StartNewAsync(BackendProcess.Environment(_stack, await _stack.CreateDatabaseAsync(), new TestSecrets(_stack)));
        Nginx = await TestNginx.StartNewAsync(Backend.BaseAddress);
    }

    public async ValueTask DisposeAsync()
    {
        await Nginx.DisposeAsync();
        await Backend.DisposeAsync();
        await _stack.DisposeAsync();
    }
}

[Trait("Category", "Nginx")]
public sealed class NginxTests(NginxFixture fixture) : IClassFixture<NginxFixture>, IDisposable
{
    private readonly BackendServer _backend = fixture.Backend;
    private readonly HttpClient _client = new(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = fixture.Nginx.BaseAddress };

    public void Dispose() => _client.Dispose();

    [Theory]
    [InlineData("/")]
    [InlineData("/notes")]
    [InlineData("/index.html")]
    [InlineData("/" + TestNginx.AssetName)]
    [InlineData("/api/auth/me")]
    [InlineData("/api/nothing-here")]
    [InlineData("/health/ready")]
    public async Task EveryResponseCarriesTheSecurityHeadersAndNoServerVersion(string path)
    {
        using var response = await _client.GetAsync(path);

        NginxAssert.SecurityHeaders(response);
        Assert.Equal("nginx", Assert.Single(response.Headers.GetValues("Server")));
    }

    [Fact]
    public async Task HashedAssetsAreImmutableForAYearAndIndexHtmlIsNoCache()
    {
        using var asset = await _client.GetAsync("/" + TestNginx.AssetName);
        using var index = await _client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        Assert.Equal("public, max-age=31536000, immutable", asset.Headers.CacheControl!.ToString());
        Assert.Equal("no-cache", index.Headers.CacheControl!.ToString());
        Assert.Contains("<div id=\"root\">", await index.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/notes")]
    [InlineData("/notes/3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
    [InlineData("/account")]
    [InlineData("/admin")]
    public async Task ClientRoutesGetTheSpaWithNoCache(string path)
    {
        using var response = await _client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl!.ToString());
    }

    [Theory]
    [InlineData("/api/nothing-here")]
    [InlineData("/api/notes/not-a-guid")]
    public async Task AnUnknownApiPathIsAJson404FromTheBackendNotTheSpa(string path)
    {
        using var response = await _client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("<div id=\"root\">", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/assets/missing-0123abcd.js")]
    [InlineData("/favicon-missing.png")]
    public async Task AMissingFileIs404NotTheSpa(string path)
    {
        using var response = await _client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("<div id=\"root\">", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthReadyReachesTheBackendAndCarriesNginxsRequestId()
    {
        using var response = await _client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready", (await response.JsonAsync()).RootElement.GetProperty("status").GetString());
        Assert.Matches("^[0-9a-f]{32}$", Assert.Single(response.Headers.GetValues("X-Request-ID")));
    }

    [Fact]
    public async Task AClientsOwnRequestIdIsReplacedByNginxs()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live") { Headers = { { "X-Request-ID", "forged-by-client" } } };

        using var response = await _client.SendAsync(request);

        Assert.NotEqual("forged-by-client", Assert.Single(response.Headers.GetValues("X-Request-ID")));
    }

    [Fact]
    public async Task AnOversizeBodyIs413ProblemJson()
    {
        using var response = await _client.PostAsync("/api/auth/register", new ByteArrayContent(new byte[2 * 1024 * 1024])
        {
            Headers = { ContentType = new("application/json") },
        });

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "urn:quartet:problem:payload-too-large");
    }

    [Fact]
    public async Task ApiETagsStayStrongThroughTheProxySoIfMatchWorks()
    {
        var email = ApiClient.NewEmail();
        await _client.PostAsJsonAsync("/api/auth/register", new { email, password = ApiClient.StrongPassword });
        using var token = await _client.PostAsJsonAsync("/api/auth/token", new { email, password = ApiClient.StrongPassword });
        var access = (await token.JsonAsync()).RootElement.GetProperty("accessToken").GetString()!;
        using var create = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/notes")
        {
            Content = JsonContent.Create(new { title = "etag", body = new string('x', 4000) }),
        }.WithBearer(access));
        var id = (await create.JsonAsync()).RootElement.GetProperty("id").GetString();

        using var get = new HttpRequestMessage(HttpMethod.Get, $"/api/notes/{id}") { Headers = { { "Accept-Encoding", "gzip" } } };
        using var read = await _client.SendAsync(get.WithBearer(access));
        Assert.Equal("\"1\"", read.Headers.ETag!.ToString());
        using var put = new HttpRequestMessage(HttpMethod.Put, $"/api/notes/{id}") { Content = JsonContent.Create(new { title = "etag 2" }) };
        put.Headers.TryAddWithoutValidation("If-Match", read.Headers.ETag.ToString());

        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(put.WithBearer(access))).StatusCode);
    }

    [Fact]
    public async Task TextIsCompressed()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/" + TestNginx.AssetName) { Headers = { { "Accept-Encoding", "gzip" } } };

        using var response = await _client.SendAsync(request);

        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
    }

    [Fact]
    public async Task TheApiWorksThroughTheProxyWithTheClientAddressForwarded()
    {
        var email = ApiClient.NewEmail();
        using var register = await _client.PostAsJsonAsync("/api/auth/register", new { email, password = ApiClient.StrongPassword });
        using var login = await _client.PostAsJsonAsync("/api/auth/login", new { email, password = "wrong password here" });

        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        NginxAssert.SecurityHeaders(login);
    }

    [Theory]
    [InlineData("GET", "/api/auth/me")]
    [InlineData("POST", "/api/notes")]
    [InlineData("GET", "/health/ready")]
    public async Task ABackendThatIsDownIsA503ProblemWithRetryAfterNotAnHtmlPage(string method, string path)
    {
        await _backend.StopAsync(TestContext.Current.CancellationToken);
        try
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path)
            {
                Content = method == "POST" ? JsonContent.Create(new { title = "t", body = "b" }) : null,
            };
            using var response = await _client.SendAsync(request, TestContext.Current.CancellationToken);

            var problem = await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "urn:quartet:problem:unavailable");
            Assert.Equal(503, problem.GetProperty("status").GetInt32());
            NginxAssert.SecurityHeaders(response);
            Assert.Equal("5", Assert.Single(response.Headers.GetValues("Retry-After")));
        }
        finally
        {
            await _backend.StartAsync(TestContext.Current.CancellationToken);
        }
    }
}

/// <summary>
/// Floods of the auth endpoints, behind an nginx of their own: nginx's per-address limit would
/// otherwise refuse the other tests' logins for a while.
/// </summary>
[Trait("Category", "Nginx")]
public sealed class NginxThrottleTests(NginxFixture fixture) : IClassFixture<NginxFixture>, IDisposable
{
    private readonly HttpClient _client = new(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = fixture.Nginx.BaseAddress };

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task BurstsAtTheAuthEndpointsAreThrottledWithAProblemBody()
    {
        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 40; i++)
        {
            responses.Add(await _client.PostAsJsonAsync("/api/auth/token", new { email = "nobody@example.com", password = "x" }));
        }

        var throttled = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(throttled);
        var first = throttled[0];
        NginxAssert.SecurityHeaders(first);
        Assert.Equal("application/problem+json", first.Content.Headers.ContentType?.MediaType);
        Assert.Equal("urn:quartet:problem:throttled", JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("type").GetString());
        Assert.True(first.Headers.Contains("Retry-After"));
        responses.ForEach(r => r.Dispose());
    }

    [Theory]
    [InlineData("/api/auth/TOKEN")]
    [InlineData("/api/auth/token/")]
    public async Task TheAuthRateLimitCannotBeSidesteppedByCaseOrATrailingSlash(string path)
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
        {
            using var response = await _client.PostAsJsonAsync(path, new { email = "nobody@example.com", password = "x" });
            statuses.Add(response.StatusCode);
        }

        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
    }
}

internal static class NginxAssert
{
    public static void SecurityHeaders(HttpResponseMessage response)
    {
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("strict-origin-when-cross-origin", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
    }
}
