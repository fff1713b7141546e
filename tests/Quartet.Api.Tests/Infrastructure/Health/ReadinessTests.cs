using System.Net;
using System.Text.Json;

namespace Quartet.Api.Tests.Infrastructure.Health;

/// <summary>These tests stop and start servers, so they own a private PostgreSQL and Redis.</summary>
public sealed class ReadinessTests(PrivateStack privateStack) : IClassFixture<PrivateStack>, IAsyncLifetime
{
    private TestStack _stack = null!;
    private QuartetFactory _factory = null!;
    private HttpClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = privateStack.Stack;
        _factory = new QuartetFactory(_stack, await _stack.CreateDatabaseAsync());
        _client = _factory.CreateHttpsClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task ReadyAnswers200WhenPostgresRedisAndSchemaAreFine()
    {
        var response = await _client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("up", body.RootElement.GetProperty("checks").GetProperty("redis").GetString());
        Assert.Equal("current", body.RootElement.GetProperty("checks").GetProperty("schema").GetString());
    }

    [Fact]
    public async Task StoppingRedisTurnsReadinessTo503AndStartingItTurnsItBackWithoutRestart()
    {
        await PollAsync(HttpStatusCode.OK);

        await _stack.Redis.StopAsync(TestContext.Current.CancellationToken);
        var down = await PollAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("application/problem+json", down.Content.Headers.ContentType?.MediaType);
        using (var body = JsonDocument.Parse(await down.Content.ReadAsStringAsync()))
        {
            Assert.Equal("urn:quartet:problem:not-ready", body.RootElement.GetProperty("type").GetString());
            Assert.Contains("redis", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal("down", body.RootElement.GetProperty("checks").GetProperty("redis").GetString());
            Assert.Equal("up", body.RootElement.GetProperty("checks").GetProperty("postgres").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/health/live")).StatusCode);

        await _stack.Redis.StartAsync(TestContext.Current.CancellationToken);
        await PollAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task StoppingPostgresTurnsReadinessTo503AndStartingItTurnsItBackWithoutRestart()
    {
        await PollAsync(HttpStatusCode.OK);

        await _stack.Postgres.StopAsync(TestContext.Current.CancellationToken);
        var down = await PollAsync(HttpStatusCode.ServiceUnavailable);
        using (var body = JsonDocument.Parse(await down.Content.ReadAsStringAsync()))
        {
            Assert.Contains("postgres", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal("down", body.RootElement.GetProperty("checks").GetProperty("postgres").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/health/live")).StatusCode);

        await _stack.Postgres.StartAsync(TestContext.Current.CancellationToken);
        await PollAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task APendingMigrationMakesReadiness503NamingTheFile()
    {
        var folder = TestPaths.NewDirectory("migrations");
        foreach (var file in Directory.GetFiles(Path.Combine(TestPaths.Repository, "db", "migrations"), "*.sql"))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }
        await File.WriteAllTextAsync(Path.Combine(folder, "9999_not_yet.sql"), "CREATE TABLE not_yet (id int);");
        await using var factory = new QuartetFactory(_stack, _factory.Database, new Dictionary<string, string?> { ["Database:MigrationsPath"] = folder });
        using var client = factory.CreateHttpsClient();

        var response = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("9999_not_yet.sql", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("up", body.RootElement.GetProperty("checks").GetProperty("postgres").GetString());
    }

    [Fact]
    public async Task AnAppliedMigrationWhoseFileChangedMakesReadiness503()
    {
        var folder = TestPaths.NewDirectory("migrations");
        foreach (var file in Directory.GetFiles(Path.Combine(TestPaths.Repository, "db", "migrations"), "*.sql"))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }
        await File.AppendAllTextAsync(Path.Combine(folder, "0001_init.sql"), "\n-- edited after it was applied\n");
        await using var factory = new QuartetFactory(_stack, _factory.Database, new Dictionary<string, string?> { ["Database:MigrationsPath"] = folder });
        using var client = factory.CreateHttpsClient();

        using var response = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("0001_init.sql changed after it was applied", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Polls readiness (bounded: 30 s) until it answers <paramref name="expected"/>.</summary>
    private async Task<HttpResponseMessage> PollAsync(HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await _client.GetAsync("/health/ready");
            if (response.StatusCode == expected)
            {
                return response;
            }
            Assert.True(DateTime.UtcNow < deadline,
                $"/health/ready still answered {(int)response.StatusCode} after 30 s, expected {(int)expected}: {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(250);
        }
    }
}
