using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Quartet.Api.Features.Account;
using Quartet.Api.Features.AccountMail;
using Quartet.Api.Features.Admin;
using Quartet.Api.Features.Auth;
using Quartet.Api.Features.Notes;
using Quartet.Api.Infrastructure.Health;
using Quartet.Api.Infrastructure.Mail;

namespace Quartet.Api.Features;

/// <summary>
/// Serializers for every request and response body, generated at build time: no reflection on the first
/// request of each type (faster start) and none on the hot path. A type missing here still works through
/// the reflection fallback; add it here when you add an endpoint.
/// </summary>
// Numbers are numbers: a quoted "5" is a 400, and the OpenAPI document types them as integer, not integer|string.
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(Credentials))]
[JsonSerializable(typeof(UserResponse))]
[JsonSerializable(typeof(LoginResponse))]
[JsonSerializable(typeof(CsrfResponse))]
[JsonSerializable(typeof(RefreshRequest))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(ChangePasswordRequest))]
[JsonSerializable(typeof(SessionResponse[]))]
[JsonSerializable(typeof(EndedResponse))]
[JsonSerializable(typeof(UserPage))]
[JsonSerializable(typeof(NoteRequest))]
[JsonSerializable(typeof(NoteResponse))]
[JsonSerializable(typeof(NotePage))]
[JsonSerializable(typeof(HealthBody))]
[JsonSerializable(typeof(PasswordResetRequest))]
[JsonSerializable(typeof(PasswordResetConfirmation))]
[JsonSerializable(typeof(VerifyEmailRequest))]
[JsonSerializable(typeof(EmailStatusResponse))]
[JsonSerializable(typeof(ChangeEmailRequest))]
[JsonSerializable(typeof(DeadMail[]))]
internal sealed partial class ApiJsonContext : JsonSerializerContext
{
    public static IHostApplicationBuilder AddApiJson(IHostApplicationBuilder builder)
    {
        builder.Services.Configure<JsonOptions>(options =>
        {
            options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, Default);
        });
        return builder;
    }
}
