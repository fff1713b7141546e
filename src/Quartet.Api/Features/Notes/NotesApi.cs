using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Quartet.Api.Infrastructure.Auth;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.Http;
using Quartet.Api.Infrastructure.Idempotency;
using Quartet.Api.Infrastructure.OpenApi;

namespace Quartet.Api.Features.Notes;

/// <summary>
/// The sample feature, and the pattern to copy: a MapGroup with its policy set once, one named handler
/// per endpoint, SQL in NoteQueries, the Redis cache in NoteCache, limits in NoteRequest.Validate.
/// Another user's note answers 404 on every path.
/// </summary>
internal static class NotesApi
{
    private const string IfMatch = "The ETag of the version being replaced: 428 without it, 412 when the note has changed since.";

    public static RouteGroupBuilder MapNotesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/notes").WithTags("Notes").RequireAuthorization().WithProblems(400, 401, 403, 503);
        group.MapPost("/", Create).WithName("CreateNote").ProducesProblem(409).ProducesProblem(413).ProducesProblem(422)
            .WithHeader(IdempotencyStore.HeaderName, required: false, "Makes a retry safe: the same key and body within 24 hours returns the first response.");
        group.MapGet("/", List).WithName("ListNotes");
        group.MapGet("/{id:guid}", Get).WithName("GetNote").Produces(304).ProducesProblem(404)
            .WithHeader("If-None-Match", required: false, "An ETag from an earlier read: 304 when the note has not changed.");
        group.MapPut("/{id:guid}", Update).WithName("UpdateNote").ProducesProblem(404).ProducesProblem(412).ProducesProblem(413).ProducesProblem(428)
            .WithHeader("If-Match", required: true, IfMatch);
        group.MapDelete("/{id:guid}", Delete).WithName("DeleteNote").ProducesProblem(404).ProducesProblem(412).ProducesProblem(428)
            .WithHeader("If-Match", required: true, IfMatch);
        return group;
    }

    /// <summary>
    /// With an Idempotency-Key, a retry of the same request returns the first response (24 hours); the
    /// same key with another request is 422.
    /// </summary>
    private static async Task<Results<Created<NoteResponse>, StoredJson, ValidationProblem, ProblemHttpResult>> Create(
        NoteRequest body, NpgsqlDataSource db, NoteCache cache, IdempotencyStore idempotency, HttpContext context, CancellationToken cancellationToken)
    {
        var (note, errors) = body.Validate();
        if (note is null)
        {
            return errors.ToProblem();
        }
        var ownerId = context.User.Id();
        string? key = context.Request.Headers[IdempotencyStore.HeaderName];
        var scope = $"notes:{ownerId:N}";
        var fingerprint = IdempotencyStore.Fingerprint(JsonSerializer.Serialize(note, NotesJsonContext.Default.NoteFields));
        if (key is not null)
        {
            if (!IdempotencyStore.IsValidKey(key))
            {
                return new FieldErrors().Add(IdempotencyStore.HeaderName, "An Idempotency-Key is 1 to 255 visible ASCII characters.").ToProblem();
            }
            var claim = await idempotency.ClaimAsync(scope, key, fingerprint);
            switch (claim.State)
            {
                case IdempotencyState.Replay:
                    return new StoredJson(claim.Response!, replayed: true);
                case IdempotencyState.Mismatch:
                    return Problems.Of(StatusCodes.Status422UnprocessableEntity, ProblemTypes.IdempotencyMismatch, "Idempotency-Key reused",
                        "This Idempotency-Key was used for a different request; use a new key for a new request.");
                case IdempotencyState.InProgress:
                    return Problems.Of(StatusCodes.Status409Conflict, ProblemTypes.IdempotencyInProgress, "Request in progress",
                        "A request with this Idempotency-Key is still being processed; retry shortly.");
            }
        }

        NoteResponse created;
        try
        {
            created = (await NoteQueries.InsertAsync(db, ownerId, note, cancellationToken)).ToResponse();
        }
        catch when (key is not null)
        {
            await idempotency.AbandonAsync(scope, key);
            throw;
        }
        var location = $"/api/notes/{created.Id}";
        if (key is not null)
        {
            await idempotency.CompleteAsync(scope, key, fingerprint, new StoredResponse(StatusCodes.Status201Created,
                JsonSerializer.Serialize(created, JsonSerializerOptions.Web), location, created.ETag));
        }
        await cache.PutAsync(ownerId, created);
        await cache.InvalidatePagesAsync(ownerId);
        context.Response.Headers.ETag = created.ETag;
        return TypedResults.Created(location, created);
    }

    private static async Task<Results<Ok<NoteResponse>, StatusCodeHttpResult, ProblemHttpResult>> Get(
        Guid id, NpgsqlDataSource db, NoteCache cache, HttpContext context, CancellationToken cancellationToken)
    {
        var ownerId = context.User.Id();
        var note = await cache.GetAsync(ownerId, id);
        if (note is null)
        {
            note = (await NoteQueries.GetAsync(db, ownerId, id, cancellationToken))?.ToResponse();
            if (note is null)
            {
                return Problems.NotFound("note");
            }
            await cache.PutAsync(ownerId, note);
        }
        context.Response.Headers.ETag = note.ETag;
        return Preconditions.NoneMatch(context.Request, note.ETag)
            ? TypedResults.StatusCode(StatusCodes.Status304NotModified)
            : TypedResults.Ok(note);
    }

    private static async Task<Results<Ok<NotePage>, ValidationProblem>> List(
        [AsParameters] NoteServices services, int limit = 20, string? cursor = null, string? tag = null, string? q = null)
    {
        var (db, cache, context, cancellationToken) = services;
        var errors = new FieldErrors();
        if (limit is < 1 or > 100)
        {
            errors.Add("limit", "Limit must be 1 to 100.");
        }
        if (!NoteCursor.TryDecode(cursor, out var after))
        {
            errors.Add("cursor", "The cursor is not one this API handed out.");
        }
        tag = string.IsNullOrWhiteSpace(tag) ? null : tag.Trim().ToLowerInvariant();
        if (tag is { Length: > NoteRequest.MaxTag } || tag.HasNul())
        {
            errors.Add("tag", $"A tag is at most {NoteRequest.MaxTag} characters, with no NUL character.");
        }
        q = string.IsNullOrWhiteSpace(q) ? null : q.Trim();
        if (q is { Length: > 200 } || q.HasNul())
        {
            errors.Add("q", "Search text must be at most 200 characters, with no NUL character.");
        }
        if (after is not null && (after.Rank is null) != (q is null))
        {
            errors.Add("cursor", "This cursor belongs to a list with a different search.");
        }
        if (!errors.IsEmpty)
        {
            return errors.ToProblem();
        }

        var ownerId = context.User.Id();
        var cacheable = after is null && q is null;
        var field = $"{limit}|{tag}";
        string? generation = null;
        if (cacheable)
        {
            (var cached, generation) = await cache.GetPageAsync(ownerId, field);
            if (cached is not null)
            {
                return TypedResults.Ok(cached);
            }
        }

        var rows = await NoteQueries.ListAsync(db, ownerId, limit + 1, tag, q, after, cancellationToken);
        var items = rows.Take(limit).Select(r => new NoteSummary(r.Id, r.Title, r.Excerpt, r.Tags, r.Version,
            NoteRow.Utc(r.CreatedAt), NoteRow.Utc(r.UpdatedAt))).ToArray();
        var last = rows.Count > limit ? rows[limit - 1] : null;
        var page = new NotePage(items, last is null ? null : NoteCursor.After(NoteRow.Utc(last.UpdatedAt), last.Id, last.Rank).Encode());
        if (cacheable)
        {
            await cache.PutPageAsync(ownerId, field, page, generation);
        }
        return TypedResults.Ok(page);
    }

    private static async Task<Results<Ok<NoteResponse>, ValidationProblem, ProblemHttpResult>> Update(
        Guid id, NoteRequest body, NpgsqlDataSource db, NoteCache cache, HttpContext context, CancellationToken cancellationToken)
    {
        var ownerId = context.User.Id();
        var (note, errors) = body.Validate();
        if (note is null)
        {
            return errors.ToProblem();
        }
        var precondition = await Preconditions.ExpectedVersionAsync(context.Request, () => CurrentVersionAsync(db, ownerId, id, cancellationToken));
        if (precondition.Problem is { } problem)
        {
            return problem;
        }
        var updated = await NoteQueries.UpdateAsync(db, ownerId, id, precondition.Version, note, cancellationToken);
        if (updated is null)
        {
            return await MissingOrStaleAsync(db, ownerId, id, cancellationToken);
        }
        var response = updated.ToResponse();
        await cache.PutAsync(ownerId, response);
        await cache.InvalidatePagesAsync(ownerId);
        context.Response.Headers.ETag = response.ETag;
        return TypedResults.Ok(response);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        Guid id, NpgsqlDataSource db, NoteCache cache, HttpContext context, CancellationToken cancellationToken)
    {
        var ownerId = context.User.Id();
        var precondition = await Preconditions.ExpectedVersionAsync(context.Request, () => CurrentVersionAsync(db, ownerId, id, cancellationToken));
        if (precondition.Problem is { } problem)
        {
            return problem;
        }
        if (!await NoteQueries.DeleteAsync(db, ownerId, id, precondition.Version, cancellationToken))
        {
            return await MissingOrStaleAsync(db, ownerId, id, cancellationToken);
        }
        await cache.DeletedAsync(id);
        await cache.InvalidatePagesAsync(ownerId);
        return TypedResults.NoContent();
    }

    private static async Task<int?> CurrentVersionAsync(NpgsqlDataSource db, Guid ownerId, Guid id, CancellationToken cancellationToken) =>
        (await NoteQueries.GetAsync(db, ownerId, id, cancellationToken))?.Version;

    /// <summary>A write matched no row: the note is not the caller's (404), or its version moved on (412).</summary>
    private static async Task<ProblemHttpResult> MissingOrStaleAsync(NpgsqlDataSource db, Guid ownerId, Guid id, CancellationToken cancellationToken) =>
        await NoteQueries.GetAsync(db, ownerId, id, cancellationToken) is null
            ? Problems.NotFound("note")
            : Preconditions.Failed();

    /// <summary>
    /// The services a notes handler takes, bound as one parameter with [AsParameters]: List uses it, so that
    /// its signature is the query it accepts.
    /// </summary>
    private readonly record struct NoteServices(NpgsqlDataSource Db, NoteCache Cache, HttpContext Context, CancellationToken CancellationToken);
}
