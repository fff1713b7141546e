using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure.Redis;

internal static class RedisExtensions
{
    /// <summary>
    /// The state Redis as <see cref="IRedisStore"/>, and the cache Redis, when Redis:CacheEndpoint names
    /// one, as <see cref="RedisCache"/> (decision 0015). Both log in as the same ACL user.
    /// </summary>
    public static IHostApplicationBuilder AddRedis(this IHostApplicationBuilder builder)
    {
        builder.AddSecretReader();
        builder.Services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IRedisStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            return new RedisStore(options, options.Endpoint, RedisStore.StateName, sp.GetRequiredService<SecretReader>().Read(SecretSpec.RedisPassword));
        });
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            return new RedisCache(string.IsNullOrWhiteSpace(options.CacheEndpoint)
                ? null
                : new RedisStore(options, options.CacheEndpoint, RedisStore.CacheName, sp.GetRequiredService<SecretReader>().Read(SecretSpec.RedisPassword)));
        });
        return builder;
    }
}

/// <summary>
/// The Redis that holds cached data only: evicted under memory pressure, lost at restart, and never
/// the state Redis. <see cref="Store"/> is null when no cache Redis is configured: nothing is cached.
/// </summary>
internal sealed class RedisCache(IRedisStore? store) : IDisposable
{
    public IRedisStore? Store { get; } = store;

    public void Dispose() => (Store as IDisposable)?.Dispose();
}
