using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Quartet.Api.Infrastructure;

internal sealed class HttpOptions
{
    public const string Section = "Http";

    /// <summary>The largest request body the service reads; larger ones answer 413.</summary>
    [Range(1024, 100 * 1024 * 1024)] public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
}

internal static class HttpLimits
{
    public static IHostApplicationBuilder AddHttpLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<HttpOptions>().BindConfiguration(HttpOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<HttpOptions>>((kestrel, http) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = http.Value.MaxRequestBodyBytes;
        });
        return builder;
    }
}
