using System.Net;
using System.Net.Http.Json;

namespace Quartet.Deploy.Tests.Compose;

public sealed record LoadResult(int Reads, int Writes, int Failed, int LoggedOut, IReadOnlyList<string> Failures)
{
    public override string ToString() =>
        $"{Reads} GETs, {Writes} writes, {Failed} failed, {LoggedOut} logged out" + (Failures.Count > 0 ? $" (first: {string.Join("; ", Failures.Take(5))})" : "");
}

/// <summary>
/// A small load through nginx while replicas come and go: four readers (the note, the session's own
/// /api/auth/me) and <c>writers</c> users creating notes with the session, its CSRF token and an
/// Idempotency-Key, each under the per-user write limit; every answer that is not a success counts
/// as failed, a 401 as logged out. Used by the compose and the Swarm replica tests.
/// </summary>
public sealed class RequestLoad : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _workers = [];
    private readonly List<string> _failures = [];
    private int _reads;
    private int _writes;
    private int _failed;
    private int _loggedOut;

    /// <param name="reader">The user whose session the readers use.</param>
    /// <param name="newClient">A new client of the stack's published port that keeps its cookies.</param>
    /// <param name="writers">How many new users write notes meanwhile.</param>
    public RequestLoad(StackUser reader, Func<(HttpClient Client, CookieKeeper Cookies)> newClient, int writers)
    {
        for (var i = 0; i < 4; i++)
        {
            var path = i % 2 == 0 ? $"/api/notes/{reader.NoteId}" : "/api/auth/me";
            _workers.Add(Task.Run(() => ReadAsync(reader.Client, path)));
        }
        for (var i = 0; i < writers; i++)
        {
            _workers.Add(Task.Run(() => WriteAsync(newClient().Client)));
        }
    }

    public async Task<LoadResult> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        lock (_failures)
        {
            return new LoadResult(_reads, _writes, _failed, _loggedOut, [.. _failures]);
        }
    }

    private async Task ReadAsync(HttpClient client, string path)
    {
        while (!_stop.IsCancellationRequested)
        {
            await CountAsync(() => client.GetAsync(path, CancellationToken.None), HttpStatusCode.OK, write: false, $"GET {path}");
        }
    }

    private async Task WriteAsync(HttpClient client)
    {
        var email = ApiClient.NewEmail("ci-deploy");
        await client.RegisterAsync(email);
        await client.LoginAsync(email);
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/notes")
            {
                Content = JsonContent.Create(new { title = $"deploy write {i}", body = "", tags = Array.Empty<string>() }),
                Headers = { { "Idempotency-Key", $"deploy-{Guid.NewGuid():N}" } },
            };
            await CountAsync(() => client.SendAsync(request, CancellationToken.None), HttpStatusCode.Created, write: true, "POST /api/notes");
            // 60 writes a minute is the per-user limit.
            await Task.Delay(1200, CancellationToken.None);
        }
    }

    private async Task CountAsync(Func<Task<HttpResponseMessage>> send, HttpStatusCode expected, bool write, string what)
    {
        string? failure;
        try
        {
            using var response = await send();
            failure = response.StatusCode == expected ? null : $"{what}: {(int)response.StatusCode}";
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                Interlocked.Increment(ref _loggedOut);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            failure = $"{what}: {e.GetType().Name} {e.Message}";
        }
        Interlocked.Increment(ref write ? ref _writes : ref _reads);
        if (failure is not null)
        {
            Interlocked.Increment(ref _failed);
            lock (_failures)
            {
                _failures.Add(failure);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}
