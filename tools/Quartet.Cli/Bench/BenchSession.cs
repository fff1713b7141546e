using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Quartet.Stack;

namespace Quartet.Cli.Bench;

/// <summary>
/// The benchmark's user: registered fresh, logged in (session cookie and CSRF token, as a browser
/// holds them), with its notes created and their ids written one a line to <see cref="IdsFile"/>.
/// </summary>
internal sealed record BenchSession(string Email, string Cookie, string CsrfToken, string IdsFile)
{
    public const string SearchWord = "quartz";

    private static readonly string[] Words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];

    public static async Task<BenchSession> CreateAsync(string url, int notes, string idsFile, CancellationToken cancellationToken)
    {
        // The session cookie is carried by hand: a production stack marks it Secure, and a cookie container
        // would not send it back over http to a loopback address, where wrk's load goes.
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };

        var email = $"bench-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}-{RandomNumberGenerator.GetInt32(32768)}@example.com";
        var password = "bench-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var credentials = new Credentials(email, password);
        if (await PostAsync<UserReply>(http, $"{url}/api/auth/register", credentials, null, null, cancellationToken) is null)
        {
            throw new StackException($"bench: could not register a user at {url}");
        }
        string? session = null;
        var login = await PostAsync<LoginReply>(http, $"{url}/api/auth/login", credentials, null, null, cancellationToken,
            headers => session = headers.TryGetValues("Set-Cookie", out var set)
                ? set.Select(c => c.Split(';')[0]).LastOrDefault(c => c.Split('=')[0].EndsWith("quartet_session", StringComparison.Ordinal))
                : null);
        if (login?.CsrfToken is not { Length: > 0 } csrf)
        {
            throw new StackException($"bench: could not log in at {url}");
        }
        if (session is null)
        {
            throw new StackException($"bench: the login at {url} set no session cookie");
        }

        var ids = new List<string>(notes);
        for (var i = 0; i < notes; i++)
        {
            var word = Words[i % Words.Length];
            // Every fifth note mentions the search word, in its title and its body.
            var extra = i % 5 == 0 ? " " + SearchWord : "";
            var note = new NoteRequest($"Note {i} {word}{extra}", $"Body of note {i} about {word} and more words for the index.{extra}", [word, "bench"]);
            var created = await PostAsync<NoteReply>(http, $"{url}/api/notes", note, csrf, session, cancellationToken);
            ids.Add(created?.Id ?? throw new StackException($"bench: could not create note {i}"));
        }
        await File.WriteAllLinesAsync(idsFile, ids, cancellationToken);
        return new BenchSession(email, session, csrf, idsFile);
    }

    /// <summary>The answer's body, or null when the request failed or did not answer 2xx.</summary>
    private static async Task<T?> PostAsync<T>(HttpClient http, string uri, object body, string? csrf, string? cookie, CancellationToken cancellationToken,
        Action<System.Net.Http.Headers.HttpResponseHeaders>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = JsonContent.Create(body) };
        if (csrf is not null)
        {
            request.Headers.Add("X-CSRF-Token", csrf);
        }
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            headers?.Invoke(response.Headers);
            if (response.StatusCode == HttpStatusCode.TooManyRequests && uri.EndsWith("/api/notes", StringComparison.Ordinal))
            {
                throw new StackException($"bench: the backend's per-user write limit stopped the setup; start the stack with {BenchCommand.WriteLimitSetting}={BenchCommand.WriteLimit} (see docs/performance.md)");
            }
            if (!response.IsSuccessStatusCode)
            {
                return default;
            }
            return await response.Content.ReadFromJsonAsync<T>(cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException
            || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return default;
        }
    }

    private sealed record Credentials(string Email, string Password);

    private sealed record UserReply(string? Id);

    private sealed record LoginReply(string? CsrfToken);

    private sealed record NoteRequest(string Title, string Body, string[] Tags);

    private sealed record NoteReply(string? Id);
}
