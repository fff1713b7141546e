namespace Quartet.Api.Infrastructure.Idempotency;

internal static class IdempotencyExtensions
{
    /// <summary>Idempotency-Key records in PostgreSQL, their settings, and the sweep that deletes old ones.</summary>
    public static IHostApplicationBuilder AddIdempotency(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<IdempotencyOptions>().BindConfiguration(IdempotencyOptions.Section)
            .Validate(IdempotencyOptions.IsValid, IdempotencyOptions.InvalidMessage).ValidateOnStart();
        builder.Services.AddSingleton<IdempotencyStore>();
        builder.Services.AddHostedService<IdempotencySweeper>();
        return builder;
    }
}
