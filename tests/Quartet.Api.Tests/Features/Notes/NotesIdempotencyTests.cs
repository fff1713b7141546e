using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Quartet.Api.Infrastructure.Idempotency;

namespace Quartet.Api.Tests.Features.Notes;

public sealed class NotesIdempotencyTests(SharedStack shared) : ApiTest(shared, signIn: true)
{
    private static HttpRequestMessage Post(string key, object body, string? token = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/notes") { Content = JsonContent.Create(body), Headers = { { "Idempotency-Key", key } } };
        return token is null ? request : request.WithBearer(token);
    }

    private Task<HttpResponseMessage> PostAsync(HttpClient client, string key, object body, string? token = null) =>
        client.SendAsync(Post(key, body, token));

    private Task<long> CountAsync(string title) =>
        Factory.Stack.ScalarAsync<long>(Factory.Database, $"SELECT count(*) FROM notes WHERE title = '{title}'");

    /// <summary>A fresh user's access token, good on every replica of this test's database.</summary>
    private async Task<string> TokenAsync()
    {
        using var client = Factory.CreateHttpsClient();
        var email = ApiClient.NewEmail();
        await client.RegisterAsync(email);
        return (await client.TokenAsync(email)).Access;
    }

    [Fact]
    public async Task ARetryWithTheSameKeyAndBodyReturnsTheFirstResponseAndCreatesOneNote()
    {
        var key = Guid.NewGuid().ToString();
        var title = "retry " + key;

        using var first = await PostAsync(Client, key, new { title, tags = new[] { "a" } });
        using var retry = await PostAsync(Client, key, new { title, tags = new[] { "a" } });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(first.Content.Headers.ContentType, retry.Content.Headers.ContentType);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(first.Headers.ETag, retry.Headers.ETag);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1L, await CountAsync(title));
    }

    [Fact]
    public async Task TheRecordKeepsTheResponseAsJsonbWithItsHeadersNotAsAnEscapedString()
    {
        var key = Guid.NewGuid().ToString();
        using var created = await PostAsync(Client, key, new { title = "stored " + key, body = "a \"quoted\" body" });

        await using var connection = new NpgsqlConnection(Factory.Stack.Postgres.ConnectionString(Factory.Database, pooling: false));
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT status, location, etag, jsonb_typeof(response), response->>'body', response->>'id' FROM idempotency_keys WHERE key = @key", connection);
        command.Parameters.AddWithValue("key", key);
        await using var row = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.True(await row.ReadAsync(TestContext.Current.CancellationToken));
        Assert.Equal(201, row.GetInt16(0));
        Assert.Equal(created.Headers.Location!.ToString(), row.GetString(1));
        Assert.Equal(created.Headers.ETag!.ToString(), row.GetString(2));
        Assert.Equal("object", row.GetString(3));
        Assert.Equal("a \"quoted\" body", row.GetString(4));
        Assert.Equal(created.Headers.Location.ToString(), "/api/notes/" + row.GetString(5));
    }

    [Fact]
    public async Task TheSameKeyWithAnotherBodyIs422AndCreatesNothing()
    {
        var key = Guid.NewGuid().ToString();
        await PostAsync(Client, key, new { title = "original " + key });

        using var other = await PostAsync(Client, key, new { title = "different " + key });

        await other.AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "urn:quartet:problem:idempotency-key-reused");
        Assert.Equal(0L, await CountAsync("different " + key));
        Assert.Equal(1L, await CountAsync("original " + key));
    }

    [Fact]
    public async Task KeysBelongToTheirUser()
    {
        using var other = Factory.CreateHttpsClient();
        await other.RegisterAndLoginAsync();
        var key = Guid.NewGuid().ToString();
        var title = "shared key " + key;

        using var mine = await PostAsync(Client, key, new { title });
        using var theirs = await PostAsync(other, key, new { title });

        Assert.Equal(HttpStatusCode.Created, theirs.StatusCode);
        Assert.False(theirs.Headers.Contains("Idempotent-Replayed"));
        Assert.NotEqual(mine.Headers.Location, theirs.Headers.Location);
    }

    /// <summary>
    /// Eight requests with one key, sent at once to two replicas, 50 times: every time one note, one
    /// first answer, and seven replays identical to it. None is turned away as "in progress".
    /// </summary>
    [Fact]
    public async Task ConcurrentRequestsWithOneKeyOnTwoReplicasCreateOneNoteAndAllAnswerTheSame()
    {
        var token = await TokenAsync();
        await using var replica = Factory.Replica();
        using var first = Factory.CreateHttpsClient();
        using var second = replica.CreateHttpsClient();
        for (var round = 0; round < 50; round++)
        {
            var key = Guid.NewGuid().ToString();
            var title = $"concurrent {round} {key}";

            var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => PostAsync(i % 2 == 0 ? first : second, key, new { title }, token)));

            var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
            Assert.Single(bodies.Distinct());
            Assert.Single(responses.Select(r => r.Headers.Location).Distinct());
            Assert.Single(responses.Select(r => r.Headers.ETag?.ToString()).Distinct());
            Assert.Single(responses, r => !r.Headers.Contains("Idempotent-Replayed"));
            Assert.Equal(1L, await CountAsync(title));
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task AnInvalidKeyIs400()
    {
        await (await PostAsync(Client, new string('k', 256), new { title = "x" })).AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
    }

    /// <summary>A transaction that claimed the key and then failed (here: the quota) leaves no record: the same key works as soon as the cause is gone.</summary>
    [Fact]
    public async Task ARequestThatFailsBeforeItsCommitLeavesTheKeyFreeForARetry()
    {
        await using var factory = await QuartetFactory.CreateAsync(Factory.Stack, new Dictionary<string, string?> { ["Notes:MaxNotesPerUser"] = "1" });
        using var client = factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var existing = await client.CreateNoteAsync("the only one");
        var key = Guid.NewGuid().ToString();

        using var refused = await PostAsync(client, key, new { title = "second " + key });
        await refused.AssertProblemAsync(HttpStatusCode.Conflict, "urn:quartet:problem:quota-exceeded");
        Assert.Equal(0L, await factory.Stack.ScalarAsync<long>(factory.Database, $"SELECT count(*) FROM idempotency_keys WHERE key = '{key}'"));
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteNoteAsync(existing.Id, existing.ETag)).StatusCode);

        using var retry = await PostAsync(client, key, new { title = "second " + key });

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
    }

    /// <summary>
    /// The note and its key commit, then the reply is lost (the connection breaks while it is written).
    /// The client's retry gets the first response, and there is still one note.
    /// </summary>
    [Fact]
    public async Task ARetryAfterTheCommitWhoseReplyWasLostReplaysAndCreatesNoSecondNote()
    {
        await using var factory = Factory.WithWebHostBuilder(b => b.ConfigureTestServices(services => services.AddSingleton<IStartupFilter, BreakReplyFilter>()));
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost"), HandleCookies = true });
        await client.RegisterAndLoginAsync();
        var key = Guid.NewGuid().ToString();
        var title = "reply lost " + key;

        var lost = Post(key, new { title });
        lost.Headers.Add(BreakReplyFilter.Header, "1");
        HttpResponseMessage? first = null;
        try
        {
            first = await client.SendAsync(lost);
        }
        catch (Exception e) when (e is not Xunit.Sdk.IAssertionException)
        {
            // The reply never arrived: what a client sees when the connection drops after the commit.
        }
        Assert.True(first is null || first.StatusCode != HttpStatusCode.Created, $"the broken reply got through: {first?.StatusCode}");
        Assert.Equal(1L, await CountAsync(title));
        var id = await Factory.Stack.ScalarAsync<Guid>(Factory.Database, $"SELECT id FROM notes WHERE title = '{title}'");

        using var retry = await PostAsync(client, key, new { title });

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal($"/api/notes/{id}", retry.Headers.Location?.ToString());
        Assert.Equal(id, (await retry.JsonAsync()).RootElement.GetProperty("id").GetGuid());
        Assert.Equal(1L, await CountAsync(title));
    }

    /// <summary>
    /// A backend process is killed (SIGKILL) while its create is inside the transaction that claimed the
    /// key. Nothing was committed, so the same request sent at once to another replica creates the note:
    /// no "in progress" wait, no replay of a note that does not exist, and exactly one note in the end.
    /// </summary>
    [Fact]
    public async Task ABackendKilledMidRequestLeavesTheKeyFreeForAnImmediateRetryOnAnotherReplica()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var token = await TokenAsync();
        var environment = BackendProcess.Environment(Factory.Stack, Factory.Database, Factory.Secrets);
        await using var backend = await RunningBackend.StartNewAsync(environment);
        using var direct = new HttpClient { BaseAddress = backend.BaseAddress };
        using (var warm = await PostAsync(direct, Guid.NewGuid().ToString(), new { title = "first note" }, token))
        {
            Assert.Equal(HttpStatusCode.Created, warm.StatusCode);
        }
        var key = Guid.NewGuid().ToString();
        var title = "cut off " + key;

        // Hold the user's usage row, so the backend's create stops inside its transaction, after the key's insert.
        await using var holder = new NpgsqlConnection(Factory.Stack.Postgres.ConnectionString(Factory.Database, pooling: false));
        await holder.OpenAsync(cancellationToken);
        await using var hold = await holder.BeginTransactionAsync(cancellationToken);
        await using (var lockUsage = new NpgsqlCommand("SELECT 1 FROM note_usage FOR UPDATE", holder, hold))
        {
            await lockUsage.ExecuteNonQueryAsync(cancellationToken);
        }
        var cutOff = PostAsync(direct, key, new { title }, token);
        await WaitForAsync(async () => await Factory.Stack.ScalarAsync<long>(Factory.Database, $"""
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = '{Factory.Database}' AND application_name = 'quartet' AND wait_event_type = 'Lock'
            """) == 1, "the backend's create to wait on the usage row");
        Assert.Equal(0L, await CountAsync(title));

        await backend.KillAsync();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => cutOff);
        await hold.RollbackAsync(cancellationToken);

        // A client without the test's session cookie, so the bearer token says who it is.
        using var replica = Factory.CreateHttpsClient();
        using var retry = await replica.SendAsync(Post(key, new { title }, token), cancellationToken);

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1L, await CountAsync(title));
        using var again = await replica.SendAsync(Post(key, new { title }, token), cancellationToken);
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1L, await CountAsync(title));
    }

    /// <summary>Past the retention a key is new again, even before the sweep has deleted its record.</summary>
    [Fact]
    public async Task AKeyPastItsRetentionIsNewAgain()
    {
        var key = Guid.NewGuid().ToString();
        var title = "expired " + key;
        using var first = await PostAsync(Client, key, new { title });
        await Factory.Stack.ExecuteAsync(Factory.Database, $"UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = '{key}'");

        using var later = await PostAsync(Client, key, new { title });

        Assert.Equal(HttpStatusCode.Created, later.StatusCode);
        Assert.False(later.Headers.Contains("Idempotent-Replayed"));
        Assert.NotEqual(first.Headers.Location, later.Headers.Location);
        Assert.Equal(2L, await CountAsync(title));
    }

    [Fact]
    public async Task TheSweepDeletesRecordsPastTheRetentionAndKeepsTheOthers()
    {
        await using var sweeping = Factory.Replica(settings: new Dictionary<string, string?> { ["Idempotency:SweepInterval"] = "00:00:01" });
        using var client = sweeping.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var old = Guid.NewGuid().ToString();
        var fresh = Guid.NewGuid().ToString();
        (await PostAsync(client, old, new { title = "old" })).Dispose();
        (await PostAsync(client, fresh, new { title = "fresh" })).Dispose();
        await Factory.Stack.ExecuteAsync(Factory.Database, $"UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = '{old}'");

        await WaitForAsync(async () => await Factory.Stack.ScalarAsync<long>(Factory.Database,
            $"SELECT count(*) FROM idempotency_keys WHERE key = '{old}'") == 0, "the sweep to delete the old record");

        Assert.Equal(1L, await Factory.Stack.ScalarAsync<long>(Factory.Database, $"SELECT count(*) FROM idempotency_keys WHERE key = '{fresh}'"));
    }

    /// <summary>Two replicas sweeping the same expired records at once, 10 times: every record deleted once, no error, no fresh record touched.</summary>
    [Fact]
    public async Task TwoReplicasSweepingAtOnceDeleteEachExpiredRecordOnce()
    {
        await using var replica = Factory.Replica();
        var stores = new[] { Factory.Services.GetRequiredService<IdempotencyStore>(), replica.Services.GetRequiredService<IdempotencyStore>() };
        for (var round = 0; round < 10; round++)
        {
            await Factory.Stack.ExecuteAsync(Factory.Database, $"""
                INSERT INTO idempotency_keys (user_id, key, request_hash, status, response, created_at)
                SELECT u.id, 'round-{round}-' || g, sha256(g::text::bytea), 201, jsonb_build_object(),
                       now() - interval '2 days' * (g % 2) - interval '1 hour'
                FROM generate_series(1, 5000) g, (SELECT id FROM users LIMIT 1) u
                """);

            var deleted = await Task.WhenAll(stores.Select(s => Task.Run(() => s.SweepAsync(TestContext.Current.CancellationToken))));

            Assert.Equal(2500, deleted.Sum());
            Assert.Equal(2500L, await Factory.Stack.ScalarAsync<long>(Factory.Database, $"SELECT count(*) FROM idempotency_keys WHERE key LIKE 'round-{round}-%'"));
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"waited 30 s for {what}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    private sealed class BreakReplyFilter : IStartupFilter
    {
        public const string Header = "X-Test-Break-Reply";

        /// <summary>A request carrying <see cref="Header"/> gets a response stream that fails on the first write, as a dropped connection does.</summary>
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Request.Headers.ContainsKey(Header))
                {
                    context.Response.Body = new FailingStream();
                }
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    private sealed class FailingStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => throw new IOException("connection reset");
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("connection reset");
        public override Task FlushAsync(CancellationToken cancellationToken) => throw new IOException("connection reset");
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new IOException("connection reset");
    }
}
