using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.Auth;

public sealed class LoginTests(SharedStack shared) : IAsyncLifetime
{
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync() => _factory = await QuartetFactory.CreateAsync(shared.Stack);

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public async Task LoginSetsAHostPrefixedSecureHttpOnlyLaxCookieUnderProductionSettings()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);

        using var response = await client.PostAsJsonAsync("/api/auth/login", new { email, password = ApiClient.StrongPassword });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("__Host-quartet_session=", cookie, StringComparison.Ordinal);
        Assert.Contains("; path=/", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("domain=", cookie, StringComparison.OrdinalIgnoreCase);
        var value = cookie.Split(';')[0].Split('=', 2)[1];
        Assert.True(System.Buffers.Text.Base64Url.DecodeFromChars(value).Length >= 16); // at least 128 random bits
    }

    [Fact]
    public async Task TheSessionIdChangesAtEveryLoginAndThePreviousOneEnds()
    {
        using var client = _factory.CreateClient(new() { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        var (firstCookie, firstCsrf) = await RawLoginAsync(client, email, cookie: null, csrf: null);

        var (secondCookie, _) = await RawLoginAsync(client, email, firstCookie, firstCsrf);

        Assert.NotEqual(firstCookie, secondCookie);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(Me(firstCookie))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Me(secondCookie))).StatusCode);
    }

    [Fact]
    public async Task LoggingInAgainWhileLoggedInNeedsTheCsrfTokenLikeAnyCookiePost()
    {
        using var client = _factory.CreateClient(new() { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        var (cookie, _) = await RawLoginAsync(client, email, cookie: null, csrf: null);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
        {
            Content = JsonContent.Create(new { email, password = ApiClient.StrongPassword }),
            Headers = { { "Cookie", cookie } },
        };
        using var response = await client.SendAsync(request);

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "urn:quartet:problem:csrf");
    }

    private static HttpRequestMessage Me(string cookie) => new(HttpMethod.Get, "/api/auth/me") { Headers = { { "Cookie", cookie } } };

    private static async Task<(string Cookie, string Csrf)> RawLoginAsync(HttpClient client, string email, string? cookie, string? csrf)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = JsonContent.Create(new { email, password = ApiClient.StrongPassword }) };
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
            request.Headers.Add("X-CSRF-Token", csrf);
        }
        using var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var token = (await response.JsonAsync()).RootElement.GetProperty("csrfToken").GetString()!;
        return (response.Headers.GetValues("Set-Cookie").Single().Split(';')[0], token);
    }

    [Fact]
    public async Task MeAnswersWithTheCookieAndLogoutEndsTheSession()
    {
        using var client = _factory.CreateHttpsClient();
        var email = await client.RegisterAndLoginAsync();

        using (var me = await client.GetAsync("/api/auth/me"))
        {
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
            Assert.Equal(email, (await me.JsonAsync()).RootElement.GetProperty("email").GetString());
        }

        using var logout = await client.PostAsync("/api/auth/logout", null);
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        await (await client.GetAsync("/api/auth/me")).AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
    }

    [Fact]
    public async Task AnUnknownEmailAndAWrongPasswordGetTheSameAnswer()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);

        using var wrongPassword = await client.PostAsJsonAsync("/api/auth/login", new { email, password = "not the right password" });
        using var unknownEmail = await client.PostAsJsonAsync("/api/auth/login", new { email = ApiClient.NewEmail(), password = "not the right password" });

        var a = await wrongPassword.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-credentials");
        var b = await unknownEmail.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-credentials");
        Assert.Equal(a.GetProperty("title").GetString(), b.GetProperty("title").GetString());
        Assert.Equal(a.GetProperty("detail").GetString(), b.GetProperty("detail").GetString());
        Assert.False(wrongPassword.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task ANulCharacterInTheEmailIsAnInvalidLoginNotAServerError()
    {
        using var client = _factory.CreateHttpsClient();

        using var response = await client.PostAsJsonAsync("/api/auth/login", new { email = "a\u0000b@example.com", password = "whatever it is" });

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-credentials");
    }

    [Fact]
    public async Task WithoutAuthenticationTheAccountEndpointsAre401Problems()
    {
        using var client = _factory.CreateHttpsClient();

        await (await client.GetAsync("/api/auth/me")).AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
        await (await client.GetAsync("/api/account/sessions")).AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
    }

    [Fact]
    public async Task LoginWritesAuditRowsForSuccessAndFailureWithoutThePassword()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        await client.PostAsJsonAsync("/api/auth/login", new { email, password = "wrong wrong wrong" });
        await client.LoginAsync(email);

        var events = await _factory.Stack.ScalarAsync<string>(_factory.Database,
            $"SELECT string_agg(a.event, ',' ORDER BY a.id) FROM audit_log a JOIN users u ON u.id = a.user_id WHERE u.email = '{email}'");
        Assert.Equal("account.register,login.failed,login.succeeded", events);
        var all = await _factory.Stack.ScalarAsync<string>(_factory.Database, "SELECT string_agg(detail::text, ' ') FROM audit_log");
        Assert.DoesNotContain("wrong wrong wrong", all!, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiClient.StrongPassword, all!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALoginRehashesAPasswordStoredWithFewerIterationsThanConfigured()
    {
        using var client = _factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        await using var stronger = _factory.Replica(settings: new Dictionary<string, string?> { ["Passwords:Iterations"] = "250000" });
        using var strongerClient = stronger.CreateHttpsClient();

        await strongerClient.LoginAsync(email);

        var hash = Convert.FromBase64String((await _factory.Stack.ScalarAsync<string>(_factory.Database, $"SELECT password_hash FROM users WHERE email = '{email}'"))!);
        Assert.Equal(250_000u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(hash.AsSpan(5)));
        await client.LoginAsync(email); // the old setting still verifies the new hash
    }
}
