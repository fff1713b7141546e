using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Quartet.Api.Tests.Infrastructure.Observability;

/// <summary>The backend as its own process, exporting traces to a small OTLP/HTTP receiver of the test's own.</summary>
public sealed class TracingTests(SharedStack shared)
{
    [Fact]
    public async Task WithAnOtlpEndpointARequestsSpansAreExportedUnderTheCallersTraceId()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var stack = shared.Stack;
        var environment = BackendProcess.Environment(stack, await stack.CreateDatabaseAsync(), new TestSecrets(stack));
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Address;
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        // Batches leave every 200 ms instead of every 5 s.
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "200";
        await using var backend = await RunningBackend.StartNewAsync(environment);
        using var client = new HttpClient { BaseAddress = backend.BaseAddress };
        const string callersTrace = "0af7651916cd43dd8448eb211c80319c";

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/auth/me") { Headers = { { "traceparent", $"00-{callersTrace}-b7ad6b7169203331-01" } } };
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        // An OTLP span carries its trace id as 16 raw bytes.
        var traceBytes = Convert.FromHexString(callersTrace);
        var clock = Stopwatch.StartNew();
        while (!receiver.Traces.Any(body => body.AsSpan().IndexOf(traceBytes) >= 0) && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        Assert.True(receiver.Traces.Any(body => body.AsSpan().IndexOf(traceBytes) >= 0),
            $"no exported span with trace id {callersTrace} within 20 s ({receiver.Traces.Count} batches received)");
    }

    /// <summary>Takes OTLP/HTTP trace exports (POST /v1/traces, protobuf) and keeps their bodies.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private OtlpReceiver(WebApplication app, string address) => (_app, Address) = (app, address);

        public string Address { get; }
        public ConcurrentBag<byte[]> Traces { get; } = [];

        public static async Task<OtlpReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            var address = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Ports.Free()}");
            builder.WebHost.UseUrls(address);
            var app = builder.Build();
            var receiver = new OtlpReceiver(app, address);
            app.MapPost("/v1/traces", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
                receiver.Traces.Add(body.ToArray());
                // An empty ExportTraceServiceResponse.
                context.Response.ContentType = "application/x-protobuf";
            });
            await app.StartAsync(TestContext.Current.CancellationToken);
            return receiver;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
