namespace Quartet.Api.Infrastructure.Secrets;

/// <summary>
/// The keys behind sessions and tokens, read and validated once at start. A class, not a record,
/// so that no generated ToString ever prints a value.
/// </summary>
internal sealed class AuthSecrets(string sessionSecret, string jwtSecret)
{
    public string SessionSecret { get; } = sessionSecret;
    public string JwtSecret { get; } = jwtSecret;

    public override string ToString() => nameof(AuthSecrets) + " (values hidden)";
}
