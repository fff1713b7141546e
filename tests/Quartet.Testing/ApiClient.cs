using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Quartet.Testing;

/// <summary>How a browser or an API client talks to Quartet, in a few calls.</summary>
public static class ApiClient
{
    public const string StrongPassword = "correct horse battery staple";

    public static string NewEmail(string who = "user") => $"{who}-{Guid.NewGuid():N}@example.com";

    public static async Task RegisterAsync(this HttpClient client, string email, string password = StrongPassword)
    {
        using var response = await client.PostAsJsonAsync("/api/auth/register", new { email, password });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Logs in with the cookie; returns the CSRF token and sets it as the client's default header.</summary>
    public static async Task<string> LoginAsync(this HttpClient client, string email, string password = StrongPassword)
    {
        using var response = await client.PostAsJsonAsync("/api/auth/login", new { email, password });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var csrf = body.RootElement.GetProperty("csrfToken").GetString()!;
        client.DefaultRequestHeaders.Remove("X-CSRF-Token");
        client.DefaultRequestHeaders.Add("X-CSRF-Token", csrf);
        return csrf;
    }

    public static async Task<string> RegisterAndLoginAsync(this HttpClient client, string? email = null)
    {
        email ??= NewEmail();
        await client.RegisterAsync(email);
        await client.LoginAsync(email);
        return email;
    }

    public static async Task<(string Access, string Refresh)> TokenAsync(this HttpClient client, string email, string password = StrongPassword)
    {
        using var response = await client.PostAsJsonAsync("/api/auth/token", new { email, password });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (body.RootElement.GetProperty("accessToken").GetString()!, body.RootElement.GetProperty("refreshToken").GetString()!);
    }

    public static async Task<JsonDocument> JsonAsync(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync());

    /// <summary>Asserts a problem+json answer of the given status and type, and returns its body.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal(type, body.GetProperty("type").GetString());
        return body;
    }

    public static HttpRequestMessage WithBearer(this HttpRequestMessage request, string token)
    {
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return request;
    }
}
