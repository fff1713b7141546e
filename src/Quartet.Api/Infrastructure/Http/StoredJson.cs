namespace Quartet.Api.Infrastructure.Http;

/// <summary>
/// A <see cref="StoredResponse"/> written back byte for byte, such as a replay from the idempotency store
/// (<paramref name="replayed"/> then adds <c>Idempotent-Replayed: true</c>).
/// </summary>
internal sealed class StoredJson(StoredResponse response, bool replayed) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        var headers = httpContext.Response.Headers;
        httpContext.Response.StatusCode = response.Status;
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        if (response.Location is not null)
        {
            headers.Location = response.Location;
        }
        if (response.ETag is not null)
        {
            headers.ETag = response.ETag;
        }
        if (replayed)
        {
            headers["Idempotent-Replayed"] = "true";
        }
        return httpContext.Response.WriteAsync(response.Body);
    }
}
