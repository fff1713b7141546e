using System.Text.Json;
using Dapper;
using Npgsql;

namespace Quartet.Api.Infrastructure.Audit;

/// <summary>Security events, kept in the audit_log table and written to the log. Never a password, token or secret.</summary>
internal static class AuditEvents
{
    public const string Register = "account.register";
    public const string LoginSucceeded = "login.succeeded";
    public const string LoginFailed = "login.failed";
    public const string LoginThrottled = "login.throttled";
    public const string Logout = "logout";
    public const string PasswordChanged = "password.changed";
    public const string PasswordReset = "password.reset";
    public const string EmailVerified = "email.verified";
    public const string EmailChanged = "email.changed";
    public const string SessionEnded = "session.ended";
    public const string OtherSessionsEnded = "session.others-ended";
    public const string TokenIssued = "token.issued";
    public const string TokenRevoked = "token.revoked";
    public const string RefreshReused = "refresh.reused";
    public const string AdminDisabledUser = "admin.user-disabled";
    public const string AdminEnabledUser = "admin.user-enabled";
    public const string AdminEndedSessions = "admin.sessions-ended";
    public const string AdminDemotedUser = "admin.user-demoted";
    public const string AdminRequeuedMail = "admin.mail-requeued";
    public const string FirstAdminCreated = "admin.first-admin-created";
    public const string FirstAdminUpdated = "admin.first-admin-updated";
    public const string FirstAdminPromoted = "admin.first-admin-promoted";
}

internal sealed partial class AuditLog(NpgsqlDataSource dataSource, ILogger<AuditLog> logger)
{
    private const string Insert = """
        INSERT INTO audit_log (event, user_id, actor_id, ip, request_id, detail)
        VALUES (@Event, @UserId, @ActorId, @Ip, @RequestId, CAST(@Detail AS jsonb))
        """;

    public async Task WriteAsync(string auditEvent, Guid? userId, Guid? actorId, HttpContext? context,
        object? detail = null, CancellationToken cancellationToken = default)
    {
        var ip = context?.Connection.RemoteIpAddress?.ToString();
        var requestId = context?.TraceIdentifier;
        // jsonb refuses \u0000, which a client can send (a login's email is recorded as given).
        var json = detail is null ? "{}" : JsonSerializer.Serialize(detail).Replace("\\u0000", "\\uFFFD", StringComparison.Ordinal);
        LogEvent(logger, auditEvent, userId, actorId, ip);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(Insert,
            new { Event = auditEvent, UserId = userId, ActorId = actorId, Ip = ip, RequestId = requestId, Detail = json },
            cancellationToken: cancellationToken));
    }

    /// <summary>The log line without the table row, for events too frequent to store.</summary>
    public void LogOnly(string auditEvent, Guid? userId, Guid? actorId, HttpContext? context) =>
        LogEvent(logger, auditEvent, userId, actorId, context?.Connection.RemoteIpAddress?.ToString());

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "audit {AuditEvent} user={UserId} actor={ActorId} ip={ClientIp}")]
    private static partial void LogEvent(ILogger logger, string auditEvent, Guid? userId, Guid? actorId, string? clientIp);
}
