using System.Net;
using System.Net.Http.Json;

namespace Quartet.Deploy.Tests.Durability;

/// <summary>
/// A browser session and an API client's refresh token made before the faults, both kept in the state
/// Redis: after Redis is killed and comes back from its AOF, both must still work.
/// </summary>
public sealed class Witness(HttpClient browser, HttpClient api, string refreshToken) : IDisposable
{
    public static async Task<Witness> SignInAsync(Func<HttpClient> newClient)
    {
        var browser = newClient();
        var email = await browser.RegisterAndLoginAsync(ApiClient.NewEmail("witness"));
        var api = newClient();
        var (_, refresh) = await api.TokenAsync(email);
        return new Witness(browser, api, refresh);
    }

    /// <summary>GET /api/auth/me with the old session cookie, and POST /api/auth/refresh with the old refresh token: their statuses.</summary>
    public async Task<(HttpStatusCode Session, HttpStatusCode Refresh)> CheckAsync(CancellationToken cancellationToken)
    {
        using var me = await browser.GetAsync("/api/auth/me", cancellationToken);
        using var refresh = await api.PostAsJsonAsync("/api/auth/refresh", new { refreshToken }, cancellationToken);
        return (me.StatusCode, refresh.StatusCode);
    }

    public void Dispose()
    {
        browser.Dispose();
        api.Dispose();
    }
}
