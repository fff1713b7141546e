using System.Text;

namespace Quartet.Api.Infrastructure.Secrets;

/// <summary>
/// Reads secrets in a fixed order: the Docker secret file <c>{directory}/{name}</c>, then the file named
/// by <c>{NAME}_FILE</c>, then (Development only) the plain variable <c>{NAME}</c>. Every failure is a
/// <see cref="StartupException"/> whose one-line message names the secret and how to create it, never its value.
/// </summary>
internal sealed class SecretReader(IConfiguration configuration, bool isDevelopment, string directory)
{
    /// <summary>Development values shipped in compose.yaml carry this prefix so Production can refuse them.</summary>
    public const string DevelopmentDefaultPrefix = "dev-insecure-";

    public string Read(SecretSpec spec) => Validate(spec, Find(spec));

    public string? ReadOptional(SecretSpec spec)
    {
        var found = Find(spec);
        return found is null ? null : Validate(spec, found);
    }

    private (string Value, string Source)? Find(SecretSpec spec)
    {
        var dockerSecret = Path.Combine(directory, spec.Name);
        if (File.Exists(dockerSecret))
        {
            return (ReadFile(spec, dockerSecret), dockerSecret);
        }

        var named = configuration[spec.FileVariableName];
        if (!string.IsNullOrWhiteSpace(named))
        {
            if (!File.Exists(named))
            {
                throw new StartupException(
                    $"Secret '{spec.Name}': {spec.FileVariableName} names {named}, which does not exist; {SecretSpec.HowToCreate}.");
            }
            return (ReadFile(spec, named), spec.FileVariableName);
        }

        var plain = configuration[spec.VariableName];
        if (!string.IsNullOrEmpty(plain))
        {
            if (!isDevelopment)
            {
                throw new StartupException(
                    $"Secret '{spec.Name}' is missing: the {spec.VariableName} variable is read in Development only; " +
                    $"put the secret in {dockerSecret} or a file named by {spec.FileVariableName}; {SecretSpec.HowToCreate}.");
            }
            return (plain, spec.VariableName);
        }

        return null;
    }

    private string Validate(SecretSpec spec, (string Value, string Source)? found)
    {
        if (found is not { } secret)
        {
            throw new StartupException(
                $"Secret '{spec.Name}' is missing: put it in {Path.Combine(directory, spec.Name)} or a file named by " +
                $"{spec.FileVariableName}; {SecretSpec.HowToCreate}.");
        }

        var length = Encoding.UTF8.GetByteCount(secret.Value);
        if (length < spec.MinimumBytes)
        {
            throw new StartupException(
                $"Secret '{spec.Name}' (from {secret.Source}) is too short: {length} bytes, at least {spec.MinimumBytes} are needed; " +
                $"{SecretSpec.HowToCreate}.");
        }

        if (!isDevelopment && (secret.Value.StartsWith(DevelopmentDefaultPrefix, StringComparison.Ordinal) || DevelopmentValues.IsPublished(secret.Value)))
        {
            throw new StartupException(
                $"Secret '{spec.Name}' (from {secret.Source}) is a development default, which is refused outside Development; " +
                "create a real one with scripts/generate-secrets.sh.");
        }

        if (!isDevelopment && spec == SecretSpec.AdminPasswordHash && DevelopmentValues.IsDevelopmentAdminHash(secret.Value))
        {
            throw new StartupException(
                $"Secret '{spec.Name}' (from {secret.Source}) is a hash of the development admin password, which is refused outside Development; " +
                "make a new one with scripts/generate-secrets.sh --force (it asks for the password).");
        }

        return secret.Value;
    }

    private static string ReadFile(SecretSpec spec, string path)
    {
        try
        {
            // A trailing newline is how editors and `echo` leave files; it is never part of the secret.
            return File.ReadAllText(path).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"Secret '{spec.Name}': {path} cannot be read ({e.GetType().Name}); check its owner and mode.");
        }
    }
}
