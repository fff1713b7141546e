using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Quartet.Api.Features.Users;
using Quartet.Api.Infrastructure.Errors;
using Quartet.Api.Infrastructure.Observability;
using Quartet.Api.Infrastructure.Passwords;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>What checking a signed-in user's current password decided.</summary>
internal readonly record struct CurrentPasswordResult(bool Verified, ProblemHttpResult? Throttled);

/// <summary>
/// Re-authentication (changing the password or the address): the current password is checked under the
/// same counters as a login of that account from that client, so a stolen session gives no more guesses
/// than the login form does, and guesses made here count there and the other way round.
/// </summary>
internal sealed class CurrentPassword(PasswordHashing passwords, LoginThrottle throttle)
{
    public async Task<CurrentPasswordResult> VerifyAsync(User user, string? password, HttpContext context, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(password) || password.Length > UserAccounts.MaxPasswordLength)
        {
            return new(false, null);
        }
        var client = context.ClientKey();
        if (await throttle.ReserveAsync(user.Email, client) is { } wait)
        {
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            QuartetMetrics.ThrottledRequest("reauthentication");
            return new(false, Problems.Of(StatusCodes.Status429TooManyRequests, ProblemTypes.Throttled, "Too many wrong passwords",
                $"Too many wrong passwords. Try again in {seconds} seconds."));
        }
        PasswordVerificationResult verified;
        try
        {
            verified = await passwords.VerifyAsync(user.PasswordHash, password, cancellationToken);
        }
        catch (PasswordHashingBusyException)
        {
            await throttle.ReleaseAsync(user.Email, client);
            throw;
        }
        if (verified == PasswordVerificationResult.Failed)
        {
            return new(false, null);
        }
        await throttle.SucceededAsync(user.Email, client);
        return new(true, null);
    }
}
