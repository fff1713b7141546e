using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quartet.Api.Tests.Infrastructure.OpenApi;

public sealed class OpenApiDocumentTests(SharedStack shared)
{
    private static readonly string Committed = Path.Combine(TestPaths.Repository, "docs", "openapi.json");

    /// <summary>
    /// The committed docs/openapi.json is what the web client is generated from, so it must equal the
    /// live document. After changing the API, refresh it with: ./quartet openapi
    /// </summary>
    [Fact]
    public async Task TheCommittedDocumentEqualsTheLiveOne()
    {
        await using var factory = await QuartetFactory.CreateAsync(shared.Stack);
        using var client = factory.CreateHttpsClient();

        using var response = await client.GetAsync("/api/openapi.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var live = Normalize(await response.Content.ReadAsStringAsync());
        if (Environment.GetEnvironmentVariable("QUARTET_UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(Committed, live);
        }
        Assert.True(File.Exists(Committed), "docs/openapi.json is missing; create it with ./quartet openapi");
        Assert.True(live == await File.ReadAllTextAsync(Committed),
            "docs/openapi.json differs from GET /api/openapi.json; refresh it with ./quartet openapi and commit it");
    }

    [Fact]
    public async Task TheDocumentDescribesBothAuthSchemesAndTheProblemResponses()
    {
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(Committed));
        var root = document.RootElement;

        var schemes = root.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("cookie", schemes.GetProperty("session").GetProperty("in").GetString());
        Assert.Equal("X-CSRF-Token", schemes.GetProperty("csrf").GetProperty("name").GetString());
        Assert.Equal("bearer", schemes.GetProperty("bearer").GetProperty("scheme").GetString());
        var put = root.GetProperty("paths").GetProperty("/api/notes/{id}").GetProperty("put");
        foreach (var status in new[] { "400", "401", "404", "412", "428" })
        {
            Assert.True(put.GetProperty("responses").GetProperty(status).GetProperty("content").TryGetProperty("application/problem+json", out _), status);
        }
        Assert.Contains(put.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "If-Match");
        foreach (var path in new[] { "/api/auth/register", "/api/auth/login", "/api/account/sessions", "/api/admin/users", "/api/notes" })
        {
            Assert.True(root.GetProperty("paths").TryGetProperty(path, out _), path);
        }
    }

    [Fact]
    public async Task EveryAuthenticatedWriteButLogoutDeclaresThe429OfTheWriteLimitWithRetryAfter()
    {
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(Committed));
        var writes = 0;

        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                if (operation.Name is "get" or "head" || !operation.Value.TryGetProperty("security", out _) || path.Name == "/api/auth/logout")
                {
                    continue;
                }
                writes++;
                var responses = operation.Value.GetProperty("responses");
                Assert.True(responses.TryGetProperty("429", out var throttled), $"{operation.Name} {path.Name} does not declare 429");
                Assert.True(throttled.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{operation.Name} {path.Name}");
                Assert.True(throttled.GetProperty("headers").TryGetProperty("Retry-After", out _), $"{operation.Name} {path.Name}");
            }
        }
        Assert.True(writes >= 10, $"only {writes} authenticated writes found");
    }

    private static string Normalize(string json) =>
        JsonNode.Parse(json)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }).ReplaceLineEndings("\n") + "\n";
}
