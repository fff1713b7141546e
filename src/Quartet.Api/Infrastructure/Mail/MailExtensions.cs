using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Infrastructure.Mail;

internal static class MailExtensions
{
    /// <summary>
    /// Outgoing mail: the settings (checked at start; outside Development the development mail catcher
    /// is refused), the SMTP password when a login is configured, the outbox and its worker. Features add
    /// their <see cref="IMailComposer"/>s.
    /// </summary>
    public static IHostApplicationBuilder AddMail(this IHostApplicationBuilder builder)
    {
        builder.AddSecretReader();
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddOptions<MailOptions>().BindConfiguration(MailOptions.Section).ValidateDataAnnotations()
            .Validate(MailOptions.IsValid, MailOptions.InvalidMessage)
            .Validate(o => development || o.DevelopmentSettingsError() is null,
                "Mail: the development mail catcher (host maildev, or SMTP port 1025) is refused outside Development; set Mail__SmtpHost and Mail__SmtpPort to your SMTP relay")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp => new MailCredentials(
            sp.GetRequiredService<IOptions<MailOptions>>().Value.Username is { Length: > 0 }
                ? sp.GetRequiredService<SecretReader>().Read(SecretSpec.SmtpPassword)
                : ""));
        builder.Services.AddSingleton<MailOutbox>();
        builder.Services.AddSingleton<MailSender>();
        builder.Services.AddHostedService<MailOutboxWorker>();
        return builder;
    }
}
