using Microsoft.Extensions.Time.Testing;
using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Quartet.Api.Infrastructure.Auth;

namespace Quartet.Api.Tests.Features.Auth;

public sealed class TokenTests(SharedStack shared) : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new();
    private QuartetFactory _factory = null!;
    private HttpClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _factory = await QuartetFactory.CreateAsync(shared.Stack, clock: _clock);
        _client = _factory.CreateHttpsClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
    }

    private async Task<HttpResponseMessage> MeAsync(string token) =>
        await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/auth/me").WithBearer(token));

    private async Task<(string Email, string Access, string Refresh)> NewUserTokensAsync()
    {
        var email = ApiClient.NewEmail();
        await _client.RegisterAsync(email);
        var (access, refresh) = await _client.TokenAsync(email);
        return (email, access, refresh);
    }

    private const string OldHeader = """{"alg":"HS256","typ":"JWT"}""";

    private static JsonObject Claims(string token) => JsonNode.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]))!.AsObject();

    /// <summary>A compact JWS as the hand-written code made it: HMAC-SHA256 with jwt_secret over header.payload (RFC 7515 5.1).</summary>
    private string SignTheOldWay(string header, string payload)
    {
        var signingInput = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header)) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload));
        var key = Encoding.UTF8.GetBytes(_factory.Secrets.Values["jwt_secret"]);
        return signingInput + "." + Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(signingInput)));
    }

    [Fact]
    public async Task TheRfc7515AppendixA1Hs256ExampleVerifies()
    {
        // RFC 7515 A.1: the JWS with its exact header bytes (CRLF and spaces) and the JWK's "k", checked with the
        // validation parameters the app gives the JwtBearer handler. It has no aud, so that one check is off.
        const string Token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
            ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
            ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        var key = new SymmetricSecurityKey(Base64Url.DecodeFromChars("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"));
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1300819380).AddMinutes(-1));
        var parameters = AccessTokens.ValidationParameters(key, new TokenOptions { Issuer = "joe" }, clock);
        parameters.ValidateAudience = false;
        var handler = new JsonWebTokenHandler();

        var result = await handler.ValidateTokenAsync(Token, parameters);
        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal("joe", result.Claims["iss"]);
        var tampered = Token[..^10] + (Token[^10] == 'A' ? 'B' : 'A') + Token[^9..];
        Assert.IsAssignableFrom<SecurityTokenInvalidSignatureException>((await handler.ValidateTokenAsync(tampered, parameters)).Exception);
        // By today's clock its exp (2011) has long passed: the signature is right, the token is refused as expired.
        clock.SetUtcNow(DateTimeOffset.UtcNow);
        Assert.IsType<SecurityTokenExpiredException>((await handler.ValidateTokenAsync(Token, parameters)).Exception);
    }

    [Fact]
    public async Task AnAccessTokenCarriesTheRequiredClaimsAndWorksWhereTheCookieDoes()
    {
        var (email, access, _) = await NewUserTokensAsync();

        using var me = await MeAsync(access);
        using var sessions = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/account/sessions").WithBearer(access));

        Assert.Equal(email, (await me.JsonAsync()).RootElement.GetProperty("email").GetString());
        Assert.Equal(HttpStatusCode.OK, sessions.StatusCode);
        var claims = System.Text.Json.JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(access.Split('.')[1])).RootElement;
        foreach (var claim in new[] { "iss", "aud", "sub", "iat", "exp", "jti" })
        {
            Assert.True(claims.TryGetProperty(claim, out _), claim);
        }
        Assert.Equal(15 * 60, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
    }

    [Fact]
    public async Task ATamperedTokenIsRefused()
    {
        var (_, access, _) = await NewUserTokensAsync();
        var parts = access.Split('.');
        var claims = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1])).Replace("\"role\":\"user\"", "\"role\":\"admin\"", StringComparison.Ordinal);
        var forged = parts[0] + "." + System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claims)) + "." + parts[2];

        await (await MeAsync(forged)).AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
    }

    [Fact]
    public async Task AnExpiredTokenIsRefused()
    {
        var (_, access, _) = await NewUserTokensAsync();
        Assert.Equal(HttpStatusCode.OK, (await MeAsync(access)).StatusCode);

        _clock.Advance(TimeSpan.FromMinutes(15));

        var problem = await (await MeAsync(access)).AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
        Assert.Contains("expired", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"alg":"none","typ":"JWT"}""", "")]
    [InlineData("""{"alg":"HS512","typ":"JWT"}""", "hs512")]
    [InlineData("""{"alg":"RS256","typ":"JWT"}""", "hs256")]
    public async Task OnlyHs256IsAccepted(string header, string signWith)
    {
        var (_, access, _) = await NewUserTokensAsync();
        var payload = access.Split('.')[1];
        var signingInput = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header)) + "." + payload;
        var key = Encoding.UTF8.GetBytes(_factory.Secrets.Values["jwt_secret"]);
        var signature = signWith switch
        {
            "hs512" => System.Security.Cryptography.HMACSHA512.HashData(key, Encoding.ASCII.GetBytes(signingInput)),
            "hs256" => System.Security.Cryptography.HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(signingInput)),
            _ => [],
        };
        var token = signingInput + "." + System.Buffers.Text.Base64Url.EncodeToString(signature);

        Assert.Equal(HttpStatusCode.Unauthorized, (await MeAsync(token)).StatusCode);
    }

    [Fact]
    public async Task ATokenIssuedBeforeTheMoveToJwtBearerIsStillAccepted()
    {
        var (email, access, _) = await NewUserTokensAsync();
        var issued = Claims(access);
        var now = _clock.GetUtcNow().ToUnixTimeSeconds();
        // Byte for byte what the hand-written code of decision 0005 wrote: its claims, in its order, no spaces.
        var payload = $$"""{"iss":"quartet","aud":"quartet-api","sub":"{{issued["sub"]}}","email":"{{email}}","role":"user","iat":{{now}},"exp":{{now + 900}},"jti":"{{Guid.NewGuid():N}}"}""";

        using var me = await MeAsync(SignTheOldWay(OldHeader, payload));

        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Equal(email, (await me.JsonAsync()).RootElement.GetProperty("email").GetString());
    }

    [Fact]
    public async Task NewTokensHaveTheHeaderAndClaimsOfEarlierReleasesThenTheEpochAndFamily()
    {
        var (_, access, _) = await NewUserTokensAsync();

        Assert.Equal(OldHeader, Encoding.UTF8.GetString(Base64Url.DecodeFromChars(access.Split('.')[0])));
        Assert.Equal(["iss", "aud", "sub", "email", "role", "iat", "exp", "jti", "epoch", "sid"], Claims(access).Select(claim => claim.Key));
        Assert.Equal(0, Claims(access)["epoch"]!.GetValue<long>());
    }

    [Fact]
    public async Task ATokenWithACritHeaderIsRefusedThoughItsSignatureIsRight()
    {
        var (_, access, _) = await NewUserTokensAsync();
        var payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(access.Split('.')[1]));
        Assert.Equal(HttpStatusCode.OK, (await MeAsync(SignTheOldWay(OldHeader, payload))).StatusCode);

        using var response = await MeAsync(SignTheOldWay("""{"alg":"HS256","typ":"JWT","crit":["x-quartet"],"x-quartet":true}""", payload));

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
    }

    [Fact]
    public async Task ExpiryFollowsTheAppsClockNotTheMachines()
    {
        // The app's clock starts in 2000: by the machine's clock this token expired long ago.
        var (email, access, _) = await NewUserTokensAsync();
        Assert.Equal(HttpStatusCode.OK, (await MeAsync(access)).StatusCode);

        // From today, the app's clock moves 15 minutes while the machine's barely does.
        _clock.SetUtcNow(DateTimeOffset.UtcNow);
        var (fresh, _) = await _client.TokenAsync(email);
        Assert.Equal(HttpStatusCode.OK, (await MeAsync(fresh)).StatusCode);
        _clock.Advance(TimeSpan.FromMinutes(15));

        await (await MeAsync(fresh)).AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
    }

    [Fact]
    public async Task ATokenIsGoodUntilTheSecondBeforeItsExpAndNotAfter()
    {
        var (_, access, _) = await NewUserTokensAsync();

        _clock.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await MeAsync(access)).StatusCode);
        _clock.Advance(TimeSpan.FromSeconds(1));

        var problem = await (await MeAsync(access)).AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated");
        Assert.Equal("The access token has expired.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task TheBearerPrincipalCarriesTheClaimsUnderTheNamesTheyWereIssuedWith()
    {
        var (email, access, _) = await NewUserTokensAsync();
        await using var scope = _factory.Services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Headers.Authorization = "Bearer " + access;

        var result = await context.AuthenticateAsync(CurrentUser.BearerScheme);

        Assert.True(result.Succeeded, result.Failure?.Message);
        Assert.Equal(["iss", "aud", "sub", "email", "role", "iat", "exp", "jti", "epoch", "sid"], result.Principal.Claims.Select(claim => claim.Type));
        Assert.Equal(Claims(access)["sub"]!.GetValue<string>(), result.Principal.FindFirstValue("sub"));
        Assert.Equal(email, result.Principal.FindFirstValue("email"));
        Assert.True(result.Principal.IsInRole("user"));
    }

    [Fact]
    public async Task A401SaysNothingAboutWhichCheckFailed()
    {
        var (_, access, _) = await NewUserTokensAsync();
        var parts = access.Split('.');
        var payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1]));
        string With(string claim, string value)
        {
            var claims = Claims(access);
            claims[claim] = value;
            return claims.ToJsonString();
        }
        string[] refused =
        [
            parts[0] + "." + parts[1] + "." + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)),
            SignTheOldWay(OldHeader, With("iss", "someone-else")),
            SignTheOldWay(OldHeader, With("aud", "quartet-api/")),
            SignTheOldWay(OldHeader, With("sub", "not-a-user-id")),
            SignTheOldWay("""{"alg":"HS256","typ":"JWT","crit":["exp"]}""", payload),
            Base64Url.EncodeToString("""{"alg":"none","typ":"JWT"}"""u8) + "." + parts[1] + ".",
            "not-a-token",
        ];

        var bodies = new List<string>();
        foreach (var token in refused)
        {
            using var response = await MeAsync(token);
            Assert.Empty(response.Headers.WwwAuthenticate);
            var problem = JsonNode.Parse((await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:unauthenticated")).GetRawText())!.AsObject();
            problem.Remove("requestId");
            bodies.Add(problem.ToJsonString());
        }

        // Only expiry is told apart (the client then refreshes); every other refusal reads the same.
        Assert.Single(bodies.Distinct());
        Assert.Contains("\"detail\":\"The access token is not valid.\"", bodies[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARefreshTokenRotatesAndIsSingleUse()
    {
        var (_, _, refresh) = await NewUserTokensAsync();

        using var rotated = await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        using var body = await rotated.JsonAsync();
        var next = body.RootElement.GetProperty("refreshToken").GetString();
        Assert.NotEqual(refresh, next);
        Assert.Equal(HttpStatusCode.OK, (await MeAsync(body.RootElement.GetProperty("accessToken").GetString()!)).StatusCode);
    }

    [Fact]
    public async Task ReusingASpentRefreshTokenRevokesTheWholeFamily()
    {
        var (email, _, refresh) = await NewUserTokensAsync();
        using var first = await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        var legitimateNext = (await first.JsonAsync()).RootElement.GetProperty("refreshToken").GetString();
        var (_, otherFamily) = await _client.TokenAsync(email);

        using var replay = await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        await replay.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-token");

        using var afterReuse = await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = legitimateNext });
        await afterReuse.AssertProblemAsync(HttpStatusCode.Unauthorized, "urn:quartet:problem:invalid-token");
        // Another login's family is untouched.
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = otherFamily })).StatusCode);
        Assert.Equal(1L, await _factory.Stack.ScalarAsync<long>(_factory.Database, "SELECT count(*) FROM audit_log WHERE event = 'refresh.reused'"));
    }

    [Fact]
    public async Task RevokingARefreshTokenEndsItsFamilyAndUnknownTokensAreNoError()
    {
        var (_, _, refresh) = await NewUserTokensAsync();
        using var rotated = await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        var current = (await rotated.JsonAsync()).RootElement.GetProperty("refreshToken").GetString();

        Assert.Equal(HttpStatusCode.NoContent, (await _client.PostAsJsonAsync("/api/auth/revoke", new { refreshToken = current })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.PostAsJsonAsync("/api/auth/revoke", new { refreshToken = "never-issued-token-0123456789abcdef" })).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = current })).StatusCode);
    }

    [Fact]
    public async Task RotatingDoesNotExtendTheFamilyPast30DaysFromLogin()
    {
        var (_, _, refresh) = await NewUserTokensAsync();
        _clock.Advance(TimeSpan.FromDays(20));
        using var rotated = await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var next = (await rotated.JsonAsync()).RootElement.GetProperty("refreshToken").GetString();

        _clock.Advance(TimeSpan.FromDays(10));

        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = next })).StatusCode);
    }

    [Fact]
    public async Task ARefreshTokenExpiresAfter30Days()
    {
        var (_, _, refresh) = await NewUserTokensAsync();

        _clock.Advance(TimeSpan.FromDays(30));

        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh })).StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task AnUnknownRefreshTokenIsA4xx(string token)
    {
        using var response = await _client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = token });

        Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.BadRequest, response.StatusCode.ToString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
