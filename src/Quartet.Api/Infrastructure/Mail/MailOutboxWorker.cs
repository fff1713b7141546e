using Microsoft.Extensions.Options;

namespace Quartet.Api.Infrastructure.Mail;

/// <summary>
/// Sends what the outbox holds, off the request path: claims due mails, composes each one, hands it to
/// SMTP, and records the outcome. A failed attempt is retried with a growing delay (30 s, 1 min, 2 min,
/// ... up to 1 hour); after Mail:MaxAttempts, or at once when the server's refusal is permanent, the mail
/// is dead and waits for the admin. Every outcome is logged with the mail's id, template and recipient's
/// domain, never with its body or token.
/// </summary>
internal sealed partial class MailOutboxWorker(MailOutbox outbox, IEnumerable<IMailComposer> composers, MailSender sender,
    IOptions<MailOptions> options, ILogger<MailOutboxWorker> logger) : BackgroundService
{
    private const int BatchSize = 10;
    private static readonly TimeSpan KeepFinished = TimeSpan.FromDays(7);
    private static readonly TimeSpan PurgeEvery = TimeSpan.FromHours(1);
    private readonly Dictionary<string, IMailComposer> _composers = composers.ToDictionary(c => c.Template);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var mail = options.Value;
        // Long enough for one attempt of every mail in a batch; past it, another replica may take them.
        var lease = mail.SendTimeout * BatchSize + TimeSpan.FromSeconds(30);
        var nextPurge = DateTimeOffset.UtcNow;
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                var batch = await outbox.ClaimDueAsync(BatchSize, lease, stoppingToken);
                claimed = batch.Count;
                foreach (var item in batch)
                {
                    await ProcessAsync(item, mail.MaxAttempts, stoppingToken);
                }
                if (DateTimeOffset.UtcNow >= nextPurge)
                {
                    await outbox.PurgeFinishedAsync(KeepFinished, stoppingToken);
                    nextPurge = DateTimeOffset.UtcNow + PurgeEvery;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // PostgreSQL away, most likely: the mails stay queued and the next round tries again.
                LogOutboxUnavailable(logger, e.GetType().Name, e.Message);
            }
            if (claimed < BatchSize)
            {
                try
                {
                    await outbox.WaitForWorkAsync(mail.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task ProcessAsync(OutboxMail item, int maxAttempts, CancellationToken cancellationToken)
    {
        var domain = item.Recipient[(item.Recipient.LastIndexOf('@') + 1)..];
        if (!_composers.TryGetValue(item.Template, out var composer))
        {
            await outbox.DeadAsync(item.Id, $"no composer for template '{item.Template}'", cancellationToken);
            LogDead(logger, item.Template, item.Id, domain, item.Attempts, "unknown template");
            return;
        }
        try
        {
            var composed = await composer.ComposeAsync(item, cancellationToken);
            if (composed.Message is not { } message)
            {
                await outbox.SkippedAsync(item.Id, composed.SkipReason ?? "skipped", cancellationToken);
                LogSkipped(logger, item.Template, item.Id, domain, composed.SkipReason ?? "skipped");
                return;
            }
            await sender.SendAsync(message, cancellationToken);
        }
        // A mail that cannot be composed (a fault of this code or its data) counts its attempts like one
        // that cannot be sent, so it ends up dead instead of being claimed again forever.
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var error = $"{e.GetType().Name}: {e.Message}";
            if (MailSender.IsPermanent(e) || item.Attempts >= maxAttempts)
            {
                await outbox.DeadAsync(item.Id, error, cancellationToken);
                LogDead(logger, item.Template, item.Id, domain, item.Attempts, error);
            }
            else
            {
                var delay = RetryDelay(item.Attempts);
                await outbox.RetryLaterAsync(item.Id, delay, error, cancellationToken);
                LogRetry(logger, item.Template, item.Id, domain, item.Attempts, (int)delay.TotalSeconds, error);
            }
            return;
        }
        await outbox.SentAsync(item.Id, cancellationToken);
        LogSent(logger, item.Template, item.Id, domain, item.Attempts, item.RequestId);
    }

    /// <summary>30 s after the first failure, doubling, at most an hour.</summary>
    public static TimeSpan RetryDelay(int attempts) =>
        TimeSpan.FromSeconds(Math.Min(3600, 30 * Math.Pow(2, Math.Max(0, attempts - 1))));

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "mail {Template} #{MailId} to @{Domain} sent (attempt {Attempt}, request {QueuedBy})")]
    private static partial void LogSent(ILogger logger, string template, long mailId, string domain, int attempt, string? queuedBy);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "mail {Template} #{MailId} to @{Domain} skipped: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string template, long mailId, string domain, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "mail {Template} #{MailId} to @{Domain} failed (attempt {Attempt}), retry in {RetrySeconds} s: {Error}")]
    private static partial void LogRetry(ILogger logger, string template, long mailId, string domain, int attempt, int retrySeconds, string error);

    [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "mail {Template} #{MailId} to @{Domain} is dead after {Attempt} attempts: {Error}")]
    private static partial void LogDead(ILogger logger, string template, long mailId, string domain, int attempt, string error);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "mail outbox unavailable ({ExceptionType}: {Error}); retrying")]
    private static partial void LogOutboxUnavailable(ILogger logger, string exceptionType, string error);
}
