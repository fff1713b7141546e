using System.Text;
using Microsoft.Net.Http.Headers;
using Quartet.Api.Infrastructure.Errors;

namespace Quartet.Api.Infrastructure.Http;

/// <summary>
/// A request whose Content-Type names a charset .NET does not know is answered 415 before any endpoint reads
/// its body. The framework's JSON reader throws on such a charset, which would make the client's mistake a 500.
/// </summary>
internal static class RequestCharset
{
    public static WebApplication UseRequestCharsetCheck(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var mediaType)
                && mediaType.Charset is { Length: > 0 } charset && !IsKnown(charset.ToString()))
            {
                await context.WriteProblemAsync(StatusCodes.Status415UnsupportedMediaType, ProblemTypes.ForStatus(StatusCodes.Status415UnsupportedMediaType),
                    "Unsupported charset", "The request's charset is not one this service can read; send UTF-8.");
                return;
            }
            await next(context);
        });
        return app;
    }

    /// <summary>The same lookup the framework's JSON reader makes.</summary>
    private static bool IsKnown(string charset)
    {
        try
        {
            _ = Encoding.GetEncoding(charset);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
