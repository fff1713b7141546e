namespace Quartet.Api.Infrastructure.Secrets;

internal static class SecretsExtensions
{
    /// <summary>
    /// One reader for every component, so one lookup order and one set of messages hold everywhere.
    /// Components read their secrets when they are first resolved; <see cref="Startup"/> resolves them
    /// before serving, so a missing or weak secret stops the start rather than the first request.
    /// </summary>
    public static IHostApplicationBuilder AddSecretReader(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp =>
        {
            var configuration = sp.GetRequiredService<IConfiguration>();
            return new SecretReader(configuration, sp.GetRequiredService<IHostEnvironment>().IsDevelopment(),
                configuration["Secrets:Directory"] ?? "/run/secrets");
        });
        return builder;
    }

    public static IHostApplicationBuilder AddAuthSecrets(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp =>
        {
            var secrets = sp.GetRequiredService<SecretReader>();
            return new AuthSecrets(secrets.Read(SecretSpec.SessionSecret), secrets.Read(SecretSpec.JwtSecret));
        });
        return builder;
    }
}
