using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Quartet.Api.Tests.Infrastructure.Logging;

public sealed class RequestLoggingTests(SharedStack shared)
{
    [Fact]
    public async Task EveryRequestWritesOneJsonLineWithMethodPathStatusDurationAndTheRequestId()
    {
        var stack = shared.Stack;
        var secrets = new TestSecrets(stack);
        await using var backend = await RunningBackend.StartNewAsync(BackendProcess.Environment(stack, await stack.CreateDatabaseAsync(), secrets));
        using var client = new HttpClient { BaseAddress = backend.BaseAddress };

        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/ready") { Headers = { { "X-Request-ID", "req-from-nginx-42" } } };
        using var response = await client.SendAsync(request);
        using var anonymous = await client.GetAsync("/api/nothing-here");
        await backend.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal("req-from-nginx-42", Assert.Single(response.Headers.GetValues("X-Request-ID")));
        var generated = Assert.Single(anonymous.Headers.GetValues("X-Request-ID"));
        Assert.Matches("^[0-9a-f]{32}$", generated);

        var lines = backend.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var documents = lines.Select(line => JsonDocument.Parse(line)).ToList(); // every line is JSON
        var requestLine = Assert.Single(documents, d => d.RootElement.GetProperty("Category").GetString() == "Quartet.Request"
            && RequestId(d) == "req-from-nginx-42");
        var state = requestLine.RootElement.GetProperty("State");
        Assert.Equal("GET", state.GetProperty("Method").GetString());
        Assert.Equal("/health/ready", state.GetProperty("Path").GetString());
        Assert.Equal(200, state.GetProperty("StatusCode").GetInt32());
        Assert.True(state.GetProperty("DurationMs").GetDouble() >= 0);
        Assert.Single(documents, d => d.RootElement.GetProperty("Category").GetString() == "Quartet.Request" && RequestId(d) == generated);
        foreach (var value in secrets.Values.Values)
        {
            Assert.DoesNotContain(value, backend.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AWholeLineOutputSettingThatIsNotABooleanStopsTheStartWithOneLineNamingIt()
    {
        var line = await BackendProcess.RefusedStartLineAsync(shared.Stack, new Dictionary<string, string?> { ["Logging__WholeLineOutput"] = "perhaps" });

        Assert.StartsWith("Invalid configuration: ", line, StringComparison.Ordinal);
        Assert.Contains("Logging:WholeLineOutput", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryLineOfARequestCarriesItsRequestIdAndItsTraceId()
    {
        var stack = shared.Stack;
        await using var backend = await RunningBackend.StartNewAsync(BackendProcess.Environment(stack, await stack.CreateDatabaseAsync(), new TestSecrets(stack)));
        using var client = new HttpClient { BaseAddress = backend.BaseAddress };
        const string callersTrace = "4bf92f3577b34da6a3ce929d0e0e4736";

        // Registering writes an audit line as well as the request line.
        using var traced = new HttpRequestMessage(HttpMethod.Post, "/api/auth/register")
        {
            Headers = { { "X-Request-ID", "req-traced-1" }, { "traceparent", $"00-{callersTrace}-00f067aa0ba902b7-01" } },
            Content = JsonContent.Create(new { email = ApiClient.NewEmail(), password = ApiClient.StrongPassword }),
        };
        using var registered = await client.SendAsync(traced, TestContext.Current.CancellationToken);
        foreach (var requestId in (string[])["req-untraced-2", "req-untraced-3"])
        {
            using var untraced = new HttpRequestMessage(HttpMethod.Get, "/api/nothing-here") { Headers = { { "X-Request-ID", requestId } } };
            (await client.SendAsync(untraced, TestContext.Current.CancellationToken)).Dispose();
        }
        await backend.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var documents = backend.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line)).ToList();
        List<JsonDocument> LinesOf(string requestId) => [.. documents.Where(d => RequestId(d) == requestId)];
        var tracedLines = LinesOf("req-traced-1");
        Assert.Contains(tracedLines, d => d.RootElement.GetProperty("Category").GetString() == "Quartet.Request");
        Assert.Contains(tracedLines, d => d.RootElement.GetProperty("Message").GetString()!.StartsWith("audit account.register ", StringComparison.Ordinal));
        Assert.All(tracedLines, d => Assert.Equal(callersTrace, ScopeValue(d, "TraceId")));
        // Without a traceparent each request starts a trace of its own.
        var untracedTraces = new[] { "req-untraced-2", "req-untraced-3" }.Select(id => ScopeValue(Assert.Single(LinesOf(id)), "TraceId")).ToList();
        Assert.All(untracedTraces, traceId => Assert.Matches("^[0-9a-f]{32}$", traceId));
        Assert.Equal(3, untracedTraces.Append(callersTrace).Distinct().Count());
    }

    [Theory]
    [InlineData("has spaces in it")]
    [InlineData("<script>")]
    public async Task AnUnsafeRequestIdIsReplacedNotEchoed(string unsafeId)
    {
        await using var factory = await QuartetFactory.CreateAsync(shared.Stack);
        using var client = factory.CreateHttpsClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.TryAddWithoutValidation("X-Request-ID", unsafeId);

        using var response = await client.SendAsync(request);

        Assert.Matches("^[0-9a-f]{32}$", Assert.Single(response.Headers.GetValues("X-Request-ID")));
    }

    [Fact]
    public async Task ARequestIdFromAPeerOutsideTheTrustedProxiesIsReplaced()
    {
        await using var factory = await QuartetFactory.CreateAsync(shared.Stack, clientIp: "203.0.113.77");
        using var client = factory.CreateHttpsClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live") { Headers = { { "X-Request-ID", "chosen-by-client" } } };

        using var response = await client.SendAsync(request);

        Assert.NotEqual("chosen-by-client", Assert.Single(response.Headers.GetValues("X-Request-ID")));
    }

    private static string? RequestId(JsonDocument document) => ScopeValue(document, "RequestId");

    private static string? ScopeValue(JsonDocument document, string key) =>
        document.RootElement.TryGetProperty("Scopes", out var scopes)
            ? scopes.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty(key, out _))
                .Select(s => s.GetProperty(key).GetString()).FirstOrDefault()
            : null;
}
