using System.Net;

namespace Quartet.Api.Tests.Infrastructure.Http;

public sealed class HostAllowlistTests(SharedStack shared)
{
    [Theory]
    [InlineData("app.example.test", HttpStatusCode.OK)]
    [InlineData("APP.example.test", HttpStatusCode.OK)]
    [InlineData("eu.example.org", HttpStatusCode.OK)]
    [InlineData("localhost", HttpStatusCode.OK)]
    [InlineData("example.org", HttpStatusCode.MisdirectedRequest)]
    [InlineData("evil.example", HttpStatusCode.MisdirectedRequest)]
    [InlineData("app.example.test.evil.example", HttpStatusCode.MisdirectedRequest)]
    public async Task OnlyTheAllowedHostsAreAnswered(string host, HttpStatusCode expected)
    {
        // Spaces (as nginx's server_name list) and semicolons (ASP.NET Core's own form) both separate names.
        await using var factory = await QuartetFactory.CreateAsync(shared.Stack, new Dictionary<string, string?>
        {
            ["AllowedHosts"] = "app.example.test *.example.org;localhost",
        });
        using var client = factory.CreateHttpsClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/auth/me");
        request.Headers.Host = host;

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        else
        {
            await response.AssertProblemAsync(HttpStatusCode.MisdirectedRequest, "urn:quartet:problem:unknown-host");
            Assert.True(response.Headers.CacheControl?.NoStore);
        }
    }
}
