using System.Net;
using System.Text.Json;

namespace Quartet.Api.Tests.Infrastructure.Errors;

public sealed class ProblemResponseTests(SharedStack shared) : ApiTest(shared, signIn: false)
{
    [Fact]
    public async Task AnUnknownApiPathIsA404ProblemCarryingTheRequestId()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/does-not-exist") { Headers = { { "X-Request-ID", "abc-123" } } };

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("urn:quartet:problem:not-found", body.RootElement.GetProperty("type").GetString());
        Assert.Equal(404, body.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("abc-123", body.RootElement.GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task AWrongMethodIsA405Problem()
    {
        using var response = await Client.PostAsync("/health/live", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ResponsesCarryNoServerHeader()
    {
        using var response = await Client.GetAsync("/health/live");

        Assert.False(response.Headers.Contains("Server"));
    }
}
