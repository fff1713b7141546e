using System.Net;

namespace Quartet.Api.Tests.Features.Notes;

/// <summary>
/// What the hot path costs, counted at the servers: an authenticated request makes one round trip to the
/// state Redis for its session (lookup and sliding expiry in one script), a cached get-by-id one to the
/// cache Redis and no PostgreSQL statement at all. Owns its servers, so nothing else talks to them meanwhile.
/// </summary>
public sealed class NotesHotPathTests(PrivateStack privateStack) : IClassFixture<PrivateStack>, IAsyncLifetime
{
    private TestStack _stack = null!;
    private QuartetFactory _factory = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = privateStack.Stack;
        await _stack.ExecuteAsync("postgres", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        _factory = new QuartetFactory(_stack, await _stack.CreateDatabaseAsync());
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
    }

    /// <summary>
    /// Statements the app's database has executed for requests, read from another database so the count is not
    /// disturbed. The background workers' own statements (the mail and auth-epoch outboxes, the idempotency
    /// sweep) run on their own clock, so on a slow machine one may land inside the measured request.
    /// </summary>
    private Task<long> StatementsAsync() => _stack.ScalarAsync<long>("postgres",
        $"""
        SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{_factory.Database}')
          AND query NOT LIKE '%mail_outbox%' AND query NOT LIKE '%auth_epoch_outbox%' AND query NOT LIKE 'DELETE FROM idempotency_keys%'
        """);

    [Fact]
    public async Task ACachedGetByIdWithACookieIsOneRedisRoundTripForTheSessionOneForTheNoteAndNoSql()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var note = await client.CreateNoteAsync("hot path");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/notes/{note.Id}")).StatusCode); // warm the cache

        var statementsBefore = await StatementsAsync();
        await using var state = await RedisMonitor.StartAsync(_stack.Redis);
        await using var cache = await RedisMonitor.StartAsync(_stack.RedisCache);
        using var response = await client.GetAsync($"/api/notes/{note.Id}");
        var commands = await state.StopAsync();
        var cached = await cache.StopAsync();
        var statementsAfter = await StatementsAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, statementsAfter - statementsBefore);
        // The session in the state Redis, the note in the cache Redis (decision 0015).
        Assert.True(commands.Count == 1, "the state Redis received:\n" + string.Join('\n', commands));
        var session = Assert.Single(commands, c => c.Contains("session:", StringComparison.Ordinal));
        Assert.Matches("\"(?i:evalsha|eval)\"", session);
        Assert.True(cached.Count == 1, "the cache Redis received:\n" + string.Join('\n', cached));
        Assert.Contains(cached, c => c.Contains("\"HGETALL\"", StringComparison.OrdinalIgnoreCase) && c.Contains($"notes:note:{note.Id:N}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUncachedGetIsOneStatementAndFillsTheCache()
    {
        using var client = _factory.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var note = await client.CreateNoteAsync("cold path");
        await _stack.RedisCache.CommandAsync("DEL", $"test:{_factory.Database}:notes:note:{note.Id:N}");

        var before = await StatementsAsync();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/notes/{note.Id}")).StatusCode);
        var afterFirst = await StatementsAsync();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/notes/{note.Id}")).StatusCode);
        var afterSecond = await StatementsAsync();

        var text = await _stack.ScalarAsync<string>("postgres",
            $"SELECT string_agg(calls || ' ' || left(query, 80), E'\\n') FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{_factory.Database}')");
        Assert.True(afterFirst - before == 1, text);
        Assert.Equal(0, afterSecond - afterFirst);
    }
}
