using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure.Redis;

internal static class RedisExtensions
{
    public static IHostApplicationBuilder AddRedis(this IHostApplicationBuilder builder)
    {
        builder.AddSecretReader();
        builder.Services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IRedisStore>(sp => new RedisStore(
            sp.GetRequiredService<IOptions<RedisOptions>>(),
            sp.GetRequiredService<SecretReader>().Read(SecretSpec.RedisPassword)));
        return builder;
    }
}
