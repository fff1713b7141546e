using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Quartet.Api.Infrastructure.Passwords;

internal sealed class PasswordHashingOptions
{
    public const string Section = "Passwords";
    public const int MinimumIterations = 210_000;

    /// <summary>PBKDF2-HMAC-SHA512 rounds; OWASP's 2023 floor for that PRF is 210,000.</summary>
    [Range(MinimumIterations, 10_000_000)] public int Iterations { get; set; } = MinimumIterations;
}

/// <summary>
/// ASP.NET Core's <see cref="PasswordHasher{TUser}"/> (format v3: PBKDF2-HMAC-SHA512, salt and
/// iteration count inside the hash) with its iteration count raised. A hash made with fewer rounds than
/// configured verifies as "rehash needed", so raising the setting upgrades hashes at the next login.
/// </summary>
internal sealed class PasswordHashing(IOptions<PasswordHashingOptions> options)
{
    private readonly PasswordHasher<PasswordHashing> _hasher = new(Options.Create(new PasswordHasherOptions
    {
        CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
        IterationCount = options.Value.Iterations,
    }));

    public string Hash(string password) => _hasher.HashPassword(this, password);

    public PasswordVerificationResult Verify(string hash, string password) => _hasher.VerifyHashedPassword(this, hash, password);

    /// <summary>
    /// True when <paramref name="hash"/> is a v3 hash this class can verify; the first admin's hash is
    /// checked with it so a pasted bcrypt string or a plain password is refused at once.
    /// </summary>
    public static bool IsHash(string hash)
    {
        Span<byte> bytes = stackalloc byte[hash.Length];
        return Convert.TryFromBase64String(hash, bytes, out var length) && length >= 13 + 16 + 32 && bytes[0] == 0x01;
    }
}
