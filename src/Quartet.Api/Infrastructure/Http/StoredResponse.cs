namespace Quartet.Api.Infrastructure.Http;

/// <summary>A response kept for replay: status, body and the headers that matter to a client.</summary>
internal sealed record StoredResponse(int Status, string Body, string? Location, string? ETag);
