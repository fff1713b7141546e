using Dapper;
using Npgsql;

namespace Quartet.Api.Infrastructure.Mail;

/// <summary>A row of the outbox as the worker claims it.</summary>
internal sealed class OutboxMail
{
    public long Id { get; init; }
    public string Template { get; init; } = "";
    public string Recipient { get; init; } = "";
    public Guid? UserId { get; init; }
    public int Attempts { get; init; }
    public string? RequestId { get; init; }
}

/// <summary>A mail that will not be sent again by itself, as the admin sees it.</summary>
internal sealed record DeadMail(long Id, string Template, string Recipient, Guid? UserId, int Attempts, string? LastError,
    DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt);

/// <summary>
/// The queue of mails to send: a PostgreSQL table, so a queued mail survives a restart of anything,
/// and every replica can send. A request enqueues (one INSERT) and the worker sends later; claiming
/// takes a lease, so a replica that dies mid-send leaves the mail for another once the lease ends.
/// </summary>
internal sealed class MailOutbox(NpgsqlDataSource db)
{
    // Released on every enqueue, so this replica's worker sends at once instead of at its next poll.
    private readonly SemaphoreSlim _wake = new(0);

    public async Task EnqueueAsync(string template, string recipient, Guid? userId, string? requestId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO mail_outbox (template, recipient, user_id, request_id) VALUES (@template, @recipient, @userId, @requestId)",
            new { template, recipient, userId, requestId }, cancellationToken: cancellationToken));
        _wake.Release();
    }

    /// <summary>Waits until a mail is enqueued here or <paramref name="timeout"/> passes.</summary>
    public async Task WaitForWorkAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await _wake.WaitAsync(timeout, cancellationToken);
        // One wake-up is enough for any number of enqueues since the last claim.
        while (_wake.CurrentCount > 0 && _wake.Wait(0, CancellationToken.None))
        {
        }
    }

    /// <summary>Up to <paramref name="limit"/> due mails, each counted as an attempt and hidden from other replicas for <paramref name="lease"/>.</summary>
    public async Task<IReadOnlyList<OutboxMail>> ClaimDueAsync(int limit, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<OutboxMail>(new CommandDefinition("""
            UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + @lease
            WHERE id IN (
                SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT @limit FOR UPDATE SKIP LOCKED)
            RETURNING id AS Id, template AS Template, recipient AS Recipient, user_id AS UserId, attempts AS Attempts, request_id AS RequestId
            """, new { limit, lease }, cancellationToken: cancellationToken))];
    }

    public Task SentAsync(long id, CancellationToken cancellationToken) => FinishAsync(id, "sent", null, cancellationToken);

    public Task SkippedAsync(long id, string reason, CancellationToken cancellationToken) => FinishAsync(id, "skipped", reason, cancellationToken);

    public Task DeadAsync(long id, string error, CancellationToken cancellationToken) => FinishAsync(id, "dead", error, cancellationToken);

    public async Task RetryLaterAsync(long id, TimeSpan delay, string error, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE mail_outbox SET next_attempt_at = now() + @delay, last_error = @error WHERE id = @id AND status = 'pending'",
            new { id, delay, error = Cut(error) }, cancellationToken: cancellationToken));
    }

    private async Task FinishAsync(long id, string status, string? error, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE mail_outbox SET status = @status, last_error = coalesce(@error, last_error), finished_at = now() WHERE id = @id AND status = 'pending'",
            new { id, status, error = error is null ? null : Cut(error) }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<DeadMail>> ListDeadAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(long Id, string Template, string Recipient, Guid? UserId, int Attempts, string? LastError, DateTime CreatedAt, DateTime? FinishedAt)>(
            new CommandDefinition("""
                SELECT id, template, recipient, user_id, attempts, last_error, created_at, finished_at
                FROM mail_outbox WHERE status = 'dead' ORDER BY finished_at DESC, id DESC LIMIT @limit
                """, new { limit }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new DeadMail(r.Id, r.Template, r.Recipient, r.UserId, r.Attempts, r.LastError,
            Utc(r.CreatedAt), r.FinishedAt is { } f ? Utc(f) : null))];
    }

    /// <summary>A dead mail goes back in the queue with its attempts reset; false when there is no dead mail with that id.</summary>
    public async Task<bool> RequeueDeadAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var changed = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE mail_outbox SET status = 'pending', attempts = 0, next_attempt_at = now(), finished_at = NULL
            WHERE id = @id AND status = 'dead'
            """, new { id }, cancellationToken: cancellationToken));
        if (changed == 1)
        {
            _wake.Release();
        }
        return changed == 1;
    }

    /// <summary>Sent and skipped mails are kept a while for inspection, then removed; dead ones stay until the admin acts.</summary>
    public async Task<int> PurgeFinishedAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM mail_outbox WHERE status IN ('sent', 'skipped') AND finished_at < now() - @olderThan",
            new { olderThan }, cancellationToken: cancellationToken));
    }

    private static string Cut(string text) => text.Length <= 500 ? text : text[..500];

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
