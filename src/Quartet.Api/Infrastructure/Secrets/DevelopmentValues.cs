using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Identity;
using Quartet.Api.Infrastructure.Passwords;

namespace Quartet.Api.Infrastructure.Secrets;

/// <summary>
/// The published development secrets (deploy/docker/development-secrets/), which Production refuses
/// whatever their name or prefix. Only their SHA-256 is kept here; a test recomputes it from the
/// committed files. The development admin password is the exception: a password hash can only be
/// recognised by verifying the password against it, so that one published value is kept as text.
/// </summary>
internal static class DevelopmentValues
{
    private static readonly HashSet<string> Sha256 = new(StringComparer.Ordinal)
    {
        "8b3670a55cc4ac74d22d29d5d23cf78dbdf85042f1fea6779183918060542044", // db_password
        "45ac7affb78499376b7c8b74015fb0f9e2727896c431d73853a3367d445df563", // db_owner_password
        "25e805a57987dcdb09177dc6e4a8b9f4b41ea37caf3dcdba156227b1b7ce9193", // db_app_password
        "5c1dafe8e8d8036c9cf6ed76671512e268608ff30b6ba1284742b6e8a1717ad8", // redis_password
        "6613e36b811eaa2d810e07d886bbb3c0b17bf05fd4c3c80dbb196bceea7750fb", // session_secret
        "d26c8d0f9d85be9318f03f1e555ee41422cd9f46b7de344f59273e662057d0a6", // jwt_secret
        "a91730846ea73a4763c3129521678bdebe6268cea3883780f600b67a7837de52", // admin_password_hash
    };

    /// <summary>The password of admin@quartet.localhost in the development stack, published in its README.</summary>
    internal const string AdminPassword = SecretReader.DevelopmentDefaultPrefix + "admin-password";

    internal static IReadOnlyCollection<string> Hashes => Sha256;

    internal static string Sha256Hex(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    public static bool IsPublished(string value) => Sha256.Contains(Sha256Hex(value));

    /// <summary>
    /// True when <paramref name="hash"/> is any hash of the development admin password, not only the
    /// committed one: generate-secrets.sh given that password makes a new hash with a new salt. It costs
    /// one verification (the hash's own iteration count), once, in migrate.
    /// </summary>
    public static bool IsDevelopmentAdminHash(string hash) =>
        PasswordHashing.IsHash(hash)
        && new PasswordHasher<object>().VerifyHashedPassword(new object(), hash, AdminPassword) != PasswordVerificationResult.Failed;
}
