using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Quartet.Deploy.Tests.Durability;

/// <summary>One answer a writer got that was not its acknowledgment: a status, or no answer at all.</summary>
public sealed record Refusal(TimeSpan At, string Outcome, bool HasRetryAfter, string? ProblemType)
{
    public const string ConnectionError = "connection error";
    public const string Timeout = "timeout";

    public int? Status => int.TryParse(Outcome, out var status) ? status : null;
}

/// <summary>A create the stack acknowledged (201): its key, the note it made, when the attempt that got the answer was sent and answered.</summary>
public sealed record Acknowledged(string Key, Guid NoteId, TimeSpan Sent, TimeSpan At, bool Replayed);

/// <summary>
/// Careful clients writing notes through nginx, each signed in with its own account and session, as
/// a client that must not lose or repeat a write would: every create carries an Idempotency-Key, and on
/// a timeout, a connection error, a 5xx, a 429 or the (retired) key-in-progress answer the same key
/// and body are sent again, no sooner than Retry-After, until a 201 or <see cref="GiveUpAfter"/>.
/// Each note's title holds its key, so PostgreSQL can count the notes a key made.
/// </summary>
public sealed class WriteLoad(Func<HttpClient> newClient, int writers, Action<string> say) : IAsyncDisposable
{
    /// <summary>Title prefix shared by every note of this load: "durability &lt;run&gt;-w&lt;writer&gt;-&lt;n&gt;".</summary>
    public string Run { get; } = "d" + Guid.NewGuid().ToString("N")[..10];

    public string TitlePrefix => $"durability {Run}-";

    public static string TitleOf(string key) => $"durability {key}";

    /// <summary>A writer's attempts are at least this far apart, so 4 writers stay under the default write limit (60 a minute per user).</summary>
    public static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(1100);

    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(90);

    public Stopwatch Clock { get; } = new();

    private readonly ConcurrentQueue<Acknowledged> _acknowledged = new();
    private readonly ConcurrentQueue<Refusal> _refusals = new();
    private readonly ConcurrentQueue<string> _abandoned = new();
    private readonly List<HttpClient> _clients = [];
    private readonly CancellationTokenSource _stop = new();
    private Task[] _running = [];
    private int _attempts;

    public int Attempts => Volatile.Read(ref _attempts);

    public IReadOnlyCollection<Acknowledged> AcknowledgedWrites => _acknowledged;

    public IReadOnlyCollection<Refusal> Refusals => _refusals;

    /// <summary>Keys given up on: refused with a status that a retry cannot help (4xx), or unanswered for <see cref="GiveUpAfter"/>.</summary>
    public IReadOnlyCollection<string> Abandoned => _abandoned;

    /// <summary>Registers and signs in one account per writer, then starts them.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var signedIn = new List<HttpClient>();
        for (var w = 0; w < writers; w++)
        {
            var client = newClient();
            _clients.Add(client);
            await client.RegisterAndLoginAsync(ApiClient.NewEmail($"writer{w}"));
            signedIn.Add(client);
        }
        Clock.Start();
        _running = [.. signedIn.Select((client, w) => Task.Run(() => WriteAsync(client, w, cancellationToken), CancellationToken.None))];
        say($"{writers} writers signed in; writing notes \"{TitlePrefix}…\"");
    }

    /// <summary>The first acknowledgment of an attempt sent at or after <paramref name="since"/>, if any yet.</summary>
    public Acknowledged? FirstAcknowledgedSentAfter(TimeSpan since) =>
        _acknowledged.Where(a => a.Sent >= since).OrderBy(a => a.At).FirstOrDefault();

    /// <summary>No new writes; each writer finishes the one it has begun (acknowledged or given up).</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_running);
    }

    private async Task WriteAsync(HttpClient client, int writer, CancellationToken cancellationToken)
    {
        var last = TimeSpan.Zero;
        for (var n = 0; !_stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested; n++)
        {
            var key = $"{Run}-w{writer}-{n:D5}";
            var began = Clock.Elapsed;
            var wait = TimeSpan.Zero;
            while (true)
            {
                var earliest = last + Pace > Clock.Elapsed + wait ? last + Pace - Clock.Elapsed : wait;
                if (earliest > TimeSpan.Zero)
                {
                    await Task.Delay(earliest, cancellationToken);
                }
                if (Clock.Elapsed - began > GiveUpAfter)
                {
                    _abandoned.Enqueue($"{key}: no acknowledgment in {GiveUpAfter.TotalSeconds:0} s");
                    break;
                }
                last = Clock.Elapsed;
                Interlocked.Increment(ref _attempts);
                var (done, retryAfter) = await AttemptAsync(client, key, last, cancellationToken);
                if (done)
                {
                    break;
                }
                wait = retryAfter;
            }
        }
    }

    /// <summary>One POST; true when it settled the key (acknowledged, or refused for good), else how long to wait before the retry.</summary>
    private async Task<(bool Done, TimeSpan Wait)> AttemptAsync(HttpClient client, string key, TimeSpan sent, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/notes")
        {
            Content = JsonContent.Create(new { title = TitleOf(key), body = "written under faults", tags = new[] { "durability" } }),
        };
        request.Headers.Add("Idempotency-Key", key);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(AttemptTimeout);
        try
        {
            using var response = await client.SendAsync(request, limit.Token);
            var text = await response.Content.ReadAsStringAsync(limit.Token);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                using var json = JsonDocument.Parse(text);
                var replayed = response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Contains("true");
                _acknowledged.Enqueue(new Acknowledged(key, json.RootElement.GetProperty("id").GetGuid(), sent, Clock.Elapsed, replayed));
                return (true, TimeSpan.Zero);
            }
            var type = ProblemType(text);
            var retryAfter = response.Headers.RetryAfter?.Delta;
            _refusals.Enqueue(new Refusal(Clock.Elapsed, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), retryAfter is not null, type));
            var retry = (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests
                || (response.StatusCode == HttpStatusCode.Conflict && type?.EndsWith("idempotency-key-in-progress", StringComparison.Ordinal) == true);
            if (!retry)
            {
                _abandoned.Enqueue($"{key}: {(int)response.StatusCode} {type}");
                return (true, TimeSpan.Zero);
            }
            return (false, retryAfter ?? TimeSpan.FromSeconds(1));
        }
        catch (HttpRequestException)
        {
            _refusals.Enqueue(new Refusal(Clock.Elapsed, Refusal.ConnectionError, false, null));
            return (false, TimeSpan.FromMilliseconds(500));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _refusals.Enqueue(new Refusal(Clock.Elapsed, Refusal.Timeout, false, null));
            return (false, TimeSpan.Zero);
        }
    }

    private static string? ProblemType(string text)
    {
        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("type", out var type) ? type.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }
        foreach (var client in _clients)
        {
            client.Dispose();
        }
        _stop.Dispose();
    }
}
