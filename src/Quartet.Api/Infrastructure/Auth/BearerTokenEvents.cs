using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>
/// Quartet's part of <c>Authorization: Bearer</c>: what the JwtBearer handler does not check after it has
/// checked the token (<see cref="AccessTokens.ValidationParameters()"/>), and the app's own 401 and 403.
/// </summary>
internal sealed class BearerTokenEvents(AccessTokens tokens) : JwtBearerEvents
{
    public override async Task TokenValidated(TokenValidatedContext context)
    {
        // RFC 7515 4.1.11: a crit header names extensions the recipient must understand, and Quartet understands none.
        if (context.SecurityToken is not JsonWebToken token || token.TryGetHeaderValue<object>("crit", out _))
        {
            context.Fail("The token has a crit header.");
            return;
        }
        if (!token.TryGetPayloadValue<string>(CurrentUser.IdClaim, out var subject) || !Guid.TryParse(subject, out var userId)
            || !token.TryGetPayloadValue<string>(CurrentUser.EmailClaim, out _) || !token.TryGetPayloadValue<string>(CurrentUser.RoleClaim, out _)
            || !token.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Iat, out var issuedAt))
        {
            context.Fail("The token lacks a claim Quartet issues.");
            return;
        }
        // Tokens of releases before auth epochs have neither claim; one that has a claim must have it whole.
        long? epoch = null;
        if (token.TryGetPayloadValue<object>(AccessTokens.EpochClaim, out _))
        {
            if (!token.TryGetPayloadValue<long>(AccessTokens.EpochClaim, out var value) || value < 0)
            {
                context.Fail("The token's epoch is not a number.");
                return;
            }
            epoch = value;
        }
        string? family = null;
        if (token.TryGetPayloadValue<object>(AccessTokens.FamilyClaim, out _)
            && (!token.TryGetPayloadValue(AccessTokens.FamilyClaim, out family) || family is not { Length: > 0 and <= 64 }))
        {
            context.Fail("The token's family is not an id.");
            return;
        }
        if (await tokens.IsRevokedAsync(userId, epoch, family, issuedAt))
        {
            // To the client a revoked token is an expired one: either way it refreshes or logs in again.
            context.Fail(new SecurityTokenExpiredException("The token was revoked."));
        }
    }

    public override async Task Challenge(JwtBearerChallengeContext context)
    {
        // The framework's challenge would name the failed check in WWW-Authenticate; this one tells only
        // whether to refresh or to give up on the token.
        context.HandleResponse();
        await AuthProblems.UnauthenticatedAsync(context.HttpContext, context.AuthenticateFailure switch
        {
            null => AuthProblems.SignInRequired,
            SecurityTokenExpiredException => "The access token has expired.",
            _ => "The access token is not valid.",
        });
    }

    public override Task Forbidden(ForbiddenContext context) => AuthProblems.ForbiddenAsync(context.HttpContext);
}
