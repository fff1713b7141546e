using System.Net;

namespace Quartet.Api.Tests.Features.Auth;

public sealed class CsrfTests(SharedStack shared) : IAsyncLifetime
{
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync() => _factory = await QuartetFactory.CreateAsync(shared.Stack);

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    private async Task<(HttpClient Client, string Csrf)> LoggedInAsync()
    {
        var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var csrf = client.DefaultRequestHeaders.GetValues("X-CSRF-Token").Single();
        client.DefaultRequestHeaders.Remove("X-CSRF-Token");
        return (client, csrf);
    }

    private static HttpRequestMessage Logout(string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/logout");
        if (token is not null)
        {
            request.Headers.Add("X-CSRF-Token", token);
        }
        return request;
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-the-token")]
    public async Task ACookiePostWithoutTheRightTokenIs403AndChangesNothing(string? token)
    {
        var (client, _) = await LoggedInAsync();

        using var response = await client.SendAsync(Logout(token));

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "urn:quartet:problem:csrf");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/auth/me")).StatusCode); // still logged in
    }

    [Fact]
    public async Task AnotherSessionsTokenIsRefused()
    {
        var (victim, _) = await LoggedInAsync();
        var (_, attackerToken) = await LoggedInAsync();

        using var response = await victim.SendAsync(Logout(attackerToken));

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "urn:quartet:problem:csrf");
    }

    [Fact]
    public async Task TheSessionsOwnTokenIsAcceptedAndTheCsrfEndpointReturnsTheSameToken()
    {
        var (client, csrf) = await LoggedInAsync();
        using var fetched = await client.GetAsync("/api/auth/csrf");
        Assert.Equal(csrf, (await fetched.JsonAsync()).RootElement.GetProperty("csrfToken").GetString());

        using var response = await client.SendAsync(Logout(csrf));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [Fact]
    public async Task BearerRequestsNeedNoCsrfToken()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        var (access, _) = await client.TokenAsync(email);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/account/sessions/revoke-others").WithBearer(access);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
