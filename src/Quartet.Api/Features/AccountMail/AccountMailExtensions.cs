using Quartet.Api.Infrastructure.Mail;

namespace Quartet.Api.Features.AccountMail;

internal static class AccountMailExtensions
{
    /// <summary>The settings of verification and reset links, the mails' composers and the throttle.</summary>
    public static IHostApplicationBuilder AddAccountMail(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AccountMailOptions>().BindConfiguration(AccountMailOptions.Section)
            .Validate(AccountMailOptions.IsValid, AccountMailOptions.InvalidMessage).ValidateOnStart();
        builder.Services.AddSingleton<IMailComposer, VerifyEmailComposer>();
        builder.Services.AddSingleton<IMailComposer, ResetPasswordComposer>();
        builder.Services.AddSingleton<IMailComposer, EmailChangedComposer>();
        builder.Services.AddSingleton<AccountMailThrottle>();
        return builder;
    }
}
