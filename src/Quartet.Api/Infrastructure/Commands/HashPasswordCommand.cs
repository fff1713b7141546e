using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Passwords;

namespace Quartet.Api.Infrastructure.Commands;

/// <summary>
/// Reads one password from standard input and prints its hash: how generate-secrets.sh makes
/// admin_password_hash without the password ever being stored.
/// </summary>
internal static class HashPasswordCommand
{
    public static async Task<int> RunAsync(IConfiguration configuration, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var password = (await input.ReadLineAsync(cancellationToken))?.TrimEnd('\r');
        if (string.IsNullOrEmpty(password))
        {
            await error.WriteLineAsync("hash-password: no password on standard input (try: printf '%s' \"$pw\" | Quartet.Api hash-password)");
            return 2;
        }
        if (password.Length is < 12 or > 128)
        {
            await error.WriteLineAsync("hash-password: a password must be 12 to 128 characters long");
            return 2;
        }
        var options = configuration.GetSection(PasswordHashingOptions.Section).Get<PasswordHashingOptions>() ?? new();
        if (options.Iterations < PasswordHashingOptions.MinimumIterations)
        {
            await error.WriteLineAsync($"hash-password: Passwords__Iterations must be at least {PasswordHashingOptions.MinimumIterations}");
            return 2;
        }
        using var hashing = new PasswordHashing(Options.Create(options));
        await output.WriteLineAsync(hashing.Hash(password));
        return 0;
    }
}
