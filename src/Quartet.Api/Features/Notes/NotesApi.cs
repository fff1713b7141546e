using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Npgsql;
using Quartet.Api.Infrastructure.Auth;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.Http;
using Quartet.Api.Infrastructure.Idempotency;
using Quartet.Api.Infrastructure.OpenApi;

namespace Quartet.Api.Features.Notes;

/// <summary>
/// The sample feature, and the pattern to copy: a MapGroup with its policy set once, one named handler
/// per endpoint, SQL in NoteQueries, the Redis cache in NoteCache, limits in NoteRequest.Validate, quotas
/// in NoteQuotas.
/// Another user's note answers 404 on every path.
/// </summary>
internal static class NotesApi
{
    private const string IfMatch = "The ETag of the version being replaced: 428 without it, 412 when the note has changed since.";

    public static RouteGroupBuilder MapNotesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/notes").WithTags("Notes").RequireAuthorization().WithProblems(400, 401, 403, 503);
        group.MapPost("/", Create).WithName("CreateNote").ProducesProblem(409).ProducesProblem(413).ProducesProblem(422)
            .WithHeader(IdempotencyStore.HeaderName, required: false,
                "Makes a retry safe: the same key and body within the retention (24 hours by default) returns the first response; a concurrent retry waits for it.");
        group.MapGet("/", List).WithName("ListNotes");
        group.MapGet("/{id:guid}", Get).WithName("GetNote").Produces(304).ProducesProblem(404)
            .WithHeader("If-None-Match", required: false, "An ETag from an earlier read: 304 when the note has not changed.");
        group.MapPut("/{id:guid}", Update).WithName("UpdateNote").ProducesProblem(404).ProducesProblem(409).ProducesProblem(412).ProducesProblem(413).ProducesProblem(428)
            .WithHeader("If-Match", required: true, IfMatch);
        group.MapDelete("/{id:guid}", Delete).WithName("DeleteNote").ProducesProblem(404).ProducesProblem(412).ProducesProblem(428)
            .WithHeader("If-Match", required: true, IfMatch);
        return group;
    }

    /// <summary>
    /// With an Idempotency-Key, the key's record is written in the note's own transaction: a retry of the
    /// same request returns the first response, a concurrent one waits for the first to finish, and a
    /// request that did not commit leaves the key free. The same key with another request is 422. Past
    /// either quota, 409 quota-exceeded, and the key stays free.
    /// </summary>
    private static async Task<Results<Created<NoteResponse>, ValidationProblem, ProblemHttpResult>> Create(
        NoteRequest body, NpgsqlDataSource db, NoteCache cache, IdempotencyStore idempotency, IOptions<NoteQuotaOptions> quotas,
        HttpContext context, CancellationToken cancellationToken)
    {
        var (note, errors) = body.Validate();
        if (note is null)
        {
            return errors.ToProblem();
        }
        string? key = context.Request.Headers[IdempotencyStore.HeaderName];
        if (key is not null && !IdempotencyStore.IsValidKey(key))
        {
            return new FieldErrors().Add(IdempotencyStore.HeaderName, "An Idempotency-Key is 1 to 255 visible ASCII characters.").ToProblem();
        }
        var ownerId = context.User.Id();
        var quota = quotas.Value;
        var bytes = note.Bytes;
        NoteResponse created;
        string location;
        await using (var connection = await db.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            if (key is not null)
            {
                var fingerprint = IdempotencyStore.Fingerprint("notes.create", JsonSerializer.Serialize(note, NotesJsonContext.Default.NoteFields));
                var claim = await idempotency.ClaimAsync(transaction, ownerId, key, fingerprint, cancellationToken);
                switch (claim.State)
                {
                    case IdempotencyState.Replay:
                        return Replay(claim.Outcome!, context);
                    case IdempotencyState.Mismatch:
                        return Problems.Of(StatusCodes.Status422UnprocessableEntity, ProblemTypes.IdempotencyMismatch, "Idempotency-Key reused",
                            "This Idempotency-Key was used for a different request; use a new key for a new request.");
                }
            }
            var (allowed, usage) = await NoteQuotas.ReserveNoteAsync(transaction, ownerId, bytes, quota, cancellationToken);
            if (!allowed)
            {
                return NoteQuotas.Exceeded(quota, usage, bytes);
            }
            created = (await NoteQueries.InsertAsync(transaction, ownerId, note, cancellationToken)).ToResponse();
            location = $"/api/notes/{created.Id}";
            if (key is not null)
            {
                await idempotency.CompleteAsync(transaction, ownerId, key, new StoredOutcome(StatusCodes.Status201Created, location, created.ETag,
                    JsonSerializer.Serialize(created, ApiJsonContext.Default.NoteResponse)), cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
        }
        await cache.PutAsync(ownerId, created);
        await cache.InvalidatePagesAsync(ownerId);
        context.Response.Headers.ETag = created.ETag;
        return TypedResults.Created(location, created);
    }

    /// <summary>The first response again, written by the same serializer, so its bytes are the first one's.</summary>
    private static Created<NoteResponse> Replay(StoredOutcome outcome, HttpContext context)
    {
        var note = JsonSerializer.Deserialize(outcome.Body, ApiJsonContext.Default.NoteResponse)!;
        context.Response.Headers.ETag = outcome.ETag;
        context.Response.Headers[IdempotencyStore.ReplayedHeader] = "true";
        return TypedResults.Created(outcome.Location, note);
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

    /// <summary>A replacement that makes the note larger must fit in the owner's byte quota (409 quota-exceeded); a smaller one always fits.</summary>
    private static async Task<Results<Ok<NoteResponse>, ValidationProblem, ProblemHttpResult>> Update(
        Guid id, NoteRequest body, NpgsqlDataSource db, NoteCache cache, IOptions<NoteQuotaOptions> quotas, HttpContext context,
        CancellationToken cancellationToken)
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
        var quota = quotas.Value;
        NoteResponse response;
        await using (var connection = await db.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var usage = await NoteQuotas.LockAsync(transaction, ownerId, cancellationToken);
            if (await NoteQueries.BytesAsync(transaction, ownerId, id, cancellationToken) is not { } before)
            {
                return Problems.NotFound("note");
            }
            var growth = note.Bytes - before;
            if (growth > 0 && usage.Bytes + growth > quota.MaxBytesPerUser)
            {
                return NoteQuotas.Exceeded(quota, usage, growth);
            }
            // The note exists and no other write of this owner can run meanwhile: no row means another version.
            if (await NoteQueries.UpdateAsync(transaction, ownerId, id, precondition.Version, note, cancellationToken) is not { } updated)
            {
                return Preconditions.Failed();
            }
            if (growth != 0)
            {
                await NoteQuotas.AdjustAsync(transaction, ownerId, 0, growth, cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            response = updated.ToResponse();
        }
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
        await using (var connection = await db.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await NoteQuotas.LockAsync(transaction, ownerId, cancellationToken);
            if (await NoteQueries.DeleteAsync(transaction, ownerId, id, precondition.Version, cancellationToken) is not { } bytes)
            {
                await transaction.RollbackAsync(cancellationToken);
                return await MissingOrStaleAsync(db, ownerId, id, cancellationToken);
            }
            await NoteQuotas.AdjustAsync(transaction, ownerId, -1, -bytes, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
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
    /// its signature is the query it accepts. Internal: the request delegate generator cannot use a private
    /// type. [FromServices]: without it the generator takes the services for a possible JSON body, and the
    /// OpenAPI document of this GET fails on a body of type void.
    /// </summary>
    internal readonly record struct NoteServices([property: FromServices] NpgsqlDataSource Db, [property: FromServices] NoteCache Cache,
        HttpContext Context, CancellationToken CancellationToken);
}
