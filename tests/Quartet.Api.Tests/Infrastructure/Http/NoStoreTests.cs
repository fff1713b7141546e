using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Quartet.Api.Tests.Infrastructure.Http;

/// <summary>
/// RFC 6749 §5.1 and ASVS 8.2.1: no authenticated answer, and no answer carrying a session or a token, may
/// be stored by a browser or a cache. The walk covers every operation in docs/openapi.json that needs
/// sign-in, anonymously (401), with the session cookie and with a bearer token (2xx and 4xx).
/// </summary>
public sealed class NoStoreTests(SharedStack shared) : ApiTest(shared, signIn: false)
{
    private static readonly string Document = Path.Combine(TestPaths.Repository, "docs", "openapi.json");

    [Fact]
    public async Task EveryAuthenticatedOperationAnswersNoStoreWhetherItSucceedsOrFails()
    {
        var operations = SecuredOperations();
        Assert.True(operations.Count >= 20, $"only {operations.Count} secured operations in docs/openapi.json");

        var adminEmail = await Client.RegisterAndLoginAsync(ApiClient.NewEmail("admin"));
        await Factory.Stack.ExecuteAsync(Factory.Database, $"UPDATE users SET role = 'admin' WHERE email = '{adminEmail}'");
        await Client.LoginAsync(adminEmail);
        var (access, _) = await Client.TokenAsync(adminEmail);
        var otherEmail = ApiClient.NewEmail("other");
        await Client.RegisterAsync(otherEmail);
        var otherId = await Factory.Stack.ScalarAsync<Guid>(Factory.Database, $"SELECT id FROM users WHERE email = '{otherEmail}'");
        using var created = await Client.PostAsJsonAsync("/api/notes", new { title = "kept", body = "away from caches", tags = Array.Empty<string>() });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var noteId = (await created.JsonAsync()).RootElement.GetProperty("id").GetString()!;

        using var anonymous = Factory.CreateHttpsClient();
        var seen = new HashSet<int>();
        // Logout last: it ends the cookie session the other calls use.
        foreach (var (method, template) in operations.OrderBy(o => o.Path == "/api/auth/logout"))
        {
            var id = template switch
            {
                _ when template.StartsWith("/api/admin/users/", StringComparison.Ordinal) => otherId.ToString(),
                _ when template.StartsWith("/api/admin/mail/", StringComparison.Ordinal) => "1",
                _ when template.StartsWith("/api/notes/", StringComparison.Ordinal) => noteId,
                _ => Guid.NewGuid().ToString(),
            };
            var path = template.Replace("{id}", id, StringComparison.Ordinal);
            foreach (var (who, client, bearer) in new[] { ("anonymous", anonymous, (string?)null), ("bearer", anonymous, access), ("cookie", Client, null) })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path);
                if (method is "post" or "put")
                {
                    request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                }
                if (bearer is not null)
                {
                    request.WithBearer(bearer);
                }
                using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
                var status = (int)response.StatusCode;
                Assert.True(status < 500, $"{who} {method} {path}: {status}");
                seen.Add(status / 100);
                Assert.True(response.Headers.CacheControl?.NoStore == true,
                    $"{who} {method} {path} answered {status} with Cache-Control '{response.Headers.CacheControl}'");
                Assert.Contains("no-cache", response.Headers.Pragma.Select(p => p.Name));
                if (who == "anonymous")
                {
                    Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} anonymously: {status}");
                }
            }
        }
        Assert.Contains(2, seen);
        Assert.Contains(4, seen);
    }

    [Fact]
    public async Task AnswersThatCarryASessionOrTokensAreNotStored()
    {
        var email = ApiClient.NewEmail();
        using var register = await Client.PostAsJsonAsync("/api/auth/register", new { email, password = ApiClient.StrongPassword });
        using var login = await Client.PostAsJsonAsync("/api/auth/login", new { email, password = ApiClient.StrongPassword });
        Client.DefaultRequestHeaders.Add("X-CSRF-Token", (await login.JsonAsync()).RootElement.GetProperty("csrfToken").GetString());
        using var csrf = await Client.GetAsync("/api/auth/csrf");
        using var anonymous = Factory.CreateHttpsClient();
        using var token = await anonymous.PostAsJsonAsync("/api/auth/token", new { email, password = ApiClient.StrongPassword });
        var refreshToken = (await token.JsonAsync()).RootElement.GetProperty("refreshToken").GetString();
        using var refresh = await anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken });
        using var spent = await anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken });
        using var wrongPassword = await anonymous.PostAsJsonAsync("/api/auth/login", new { email, password = "not the password at all" });

        foreach (var (name, response, status) in new[]
        {
            ("register", register, HttpStatusCode.Created), ("login", login, HttpStatusCode.OK), ("csrf", csrf, HttpStatusCode.OK),
            ("token", token, HttpStatusCode.OK), ("refresh", refresh, HttpStatusCode.OK), ("spent refresh", spent, HttpStatusCode.Unauthorized),
            ("wrong password", wrongPassword, HttpStatusCode.Unauthorized),
        })
        {
            Assert.True(response.StatusCode == status, $"{name}: {(int)response.StatusCode}");
            Assert.True(response.Headers.CacheControl?.NoStore == true, $"{name}: Cache-Control '{response.Headers.CacheControl}'");
        }
    }

    [Fact]
    public async Task ConditionalReadsOfANoteStillAnswer304()
    {
        await Client.RegisterAndLoginAsync();
        using var created = await Client.PostAsJsonAsync("/api/notes", new { title = "t", body = "b", tags = Array.Empty<string>() });
        var location = created.Headers.Location!;
        var etag = created.Headers.ETag!;

        using var request = new HttpRequestMessage(HttpMethod.Get, location);
        request.Headers.IfNoneMatch.Add(etag);
        using var notModified = await Client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(etag, notModified.Headers.ETag);
        Assert.True(notModified.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task ThePublicOpenApiDocumentIsLeftToCaches()
    {
        using var document = await Client.GetAsync("/api/openapi.json");

        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.Null(document.Headers.CacheControl);
    }

    private static List<(string Method, string Path)> SecuredOperations()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Document));
        var operations = new List<(string, string)>();
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                if (operation.Value.TryGetProperty("security", out var security) && security.GetArrayLength() > 0)
                {
                    operations.Add((operation.Name, path.Name));
                }
            }
        }
        return operations;
    }
}
