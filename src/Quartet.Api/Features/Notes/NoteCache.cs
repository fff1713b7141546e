using System.Globalization;
using System.Text.Json;
using Quartet.Api.Infrastructure;
using Quartet.Api.Infrastructure.Observability;
using Quartet.Api.Infrastructure.Redis;

namespace Quartet.Api.Features.Notes;

/// <summary>
/// The Redis read cache for notes: each note by id, and the first page of each user's list. PostgreSQL
/// stays the truth; the cache only ever answers with what a write already committed.
///
/// A note is cached under its id together with its owner and version, and is only ever replaced by a
/// newer version (a reader that fetched before a write cannot put the older copy back). A deleted note
/// leaves a tombstone for the same reason. A user's first pages live in one hash with a generation
/// number: every write bumps it and drops the pages, and a reader stores its page only if the generation
/// is still the one it saw before querying. Every replica shares the one Redis, so none serves a page
/// another replica's write made stale. When Redis is away, every method here falls back to "not cached".
///
/// It lives in the cache Redis (Redis:CacheEndpoint), which may evict any entry when full, never in the
/// state Redis (decision 0015). An evicted note or page is a miss; an evicted pages hash takes its
/// generation with it, as an expired one does (decision 0006). Without a cache Redis nothing is cached.
/// </summary>
internal sealed partial class NoteCache(RedisCache cache, ILogger<NoteCache> logger)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    private const string Tombstone = "deleted";
    private const int DeletedVersion = int.MaxValue;

    // KEYS[1] note key; ARGV: version, value, ttl ms. Stores only when newer than what is there.
    private const string PutNoteScript = """
        local current = redis.call('HGET', KEYS[1], 'v')
        if current and tonumber(current) >= tonumber(ARGV[1]) then return {'0'} end
        redis.call('HSET', KEYS[1], 'v', ARGV[1], 'n', ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return {'1'}
        """;

    // KEYS[1] pages hash; ARGV: field. Returns the page (or nil) and the generation now.
    private const string GetPageScript = """
        return redis.call('HMGET', KEYS[1], ARGV[1], 'gen')
        """;

    // KEYS[1] pages hash; ARGV: field, page, generation seen before the query, ttl ms.
    private const string PutPageScript = """
        if redis.call('HGET', KEYS[1], 'gen') ~= (ARGV[3] ~= '' and ARGV[3] or false) then return {'0'} end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return {'1'}
        """;

    // KEYS[1] pages hash. A new generation, and no pages. The generation is Redis's clock in microseconds
    // (never below the last one plus one), so it does not restart when the hash expires: a reader who saw
    // a generation before the expiry can never match the one after it.
    private const string InvalidatePagesScript = """
        local t = redis.call('TIME')
        local gen = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local last = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
        if gen <= last then gen = last + 1 end
        gen = string.format('%.0f', gen)
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'gen', gen)
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        return {tostring(gen)}
        """;

    /// <summary>The cached note, or null when it is not cached (or not this owner's, or deleted).</summary>
    public async Task<NoteResponse?> GetAsync(Guid ownerId, Guid id)
    {
        if (cache.Store is not { } redis)
        {
            return null;
        }
        try
        {
            var fields = await redis.HashGetAllAsync(NoteKey(id));
            var cached = fields.TryGetValue("n", out var json) && json != Tombstone
                ? JsonSerializer.Deserialize(json, NotesJsonContext.Default.CachedNote)
                : null;
            var note = cached is not null && cached.OwnerId == ownerId ? cached.Note : null;
            QuartetMetrics.CacheLookup("note", hit: note is not null);
            return note;
        }
        catch (DependencyUnavailableException)
        {
            LogBypassed(logger);
            QuartetMetrics.CacheLookup("note", hit: false);
            return null;
        }
    }

    public Task PutAsync(Guid ownerId, NoteResponse note) =>
        Quietly(redis => redis.EvaluateAsync(PutNoteScript, [NoteKey(note.Id)],
            [Text(note.Version), JsonSerializer.Serialize(new CachedNote(ownerId, note), NotesJsonContext.Default.CachedNote), Ms(Lifetime)]));

    public Task DeletedAsync(Guid id) =>
        Quietly(redis => redis.EvaluateAsync(PutNoteScript, [NoteKey(id)], [Text(DeletedVersion), Tombstone, Ms(Lifetime)]));

    /// <summary>A cached first page and, either way, the generation to hand back to <see cref="PutPageAsync"/>.</summary>
    public async Task<(NotePage? Page, string? Generation)> GetPageAsync(Guid ownerId, string field)
    {
        if (cache.Store is not { } redis)
        {
            return (null, null);
        }
        try
        {
            var reply = await redis.EvaluateAsync(GetPageScript, [PagesKey(ownerId)], [field]);
            var page = reply[0] is { } json ? JsonSerializer.Deserialize(json, NotesJsonContext.Default.NotePage) : null;
            QuartetMetrics.CacheLookup("page", hit: page is not null);
            return (page, reply.Count > 1 ? reply[1] : null);
        }
        catch (DependencyUnavailableException)
        {
            LogBypassed(logger);
            QuartetMetrics.CacheLookup("page", hit: false);
            return (null, null);
        }
    }

    public Task PutPageAsync(Guid ownerId, string field, NotePage page, string? generation) =>
        Quietly(redis => redis.EvaluateAsync(PutPageScript, [PagesKey(ownerId)],
            [field, JsonSerializer.Serialize(page, NotesJsonContext.Default.NotePage), generation ?? "", Ms(Lifetime)]));

    /// <summary>After every write of the user's notes: their cached pages are gone, on every replica.</summary>
    public Task InvalidatePagesAsync(Guid ownerId) =>
        Quietly(redis => redis.EvaluateAsync(InvalidatePagesScript, [PagesKey(ownerId)], [Ms(Lifetime)]));

    private async Task Quietly(Func<IRedisStore, Task> operation)
    {
        if (cache.Store is not { } redis)
        {
            return;
        }
        try
        {
            await operation(redis);
        }
        catch (DependencyUnavailableException)
        {
            LogBypassed(logger);
        }
    }

    private static string NoteKey(Guid id) => $"notes:note:{id:N}";

    private static string PagesKey(Guid ownerId) => $"notes:pages:{ownerId:N}";

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Ms(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Redis unavailable: notes cache bypassed")]
    private static partial void LogBypassed(ILogger logger);
}

internal sealed record CachedNote(Guid OwnerId, NoteResponse Note);
