using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Observability;

namespace Quartet.Api.Infrastructure.Passwords;

internal sealed class PasswordHashingOptions
{
    public const string Section = "Passwords";
    public const int MinimumIterations = 210_000;

    /// <summary>PBKDF2-HMAC-SHA512 rounds; OWASP's 2023 floor for that PRF is 210,000.</summary>
    [Range(MinimumIterations, 10_000_000)] public int Iterations { get; set; } = MinimumIterations;

    /// <summary>Hashes computed at once by this process (each one keeps a core busy); 0 means one per processor.</summary>
    [Range(0, 1024)] public int MaxConcurrent { get; set; }

    /// <summary>Requests that may wait for a hashing slot; any more are refused with 503 at once.</summary>
    [Range(0, 100_000)] public int QueueLimit { get; set; } = 32;

    public int EffectiveConcurrency => MaxConcurrent > 0 ? MaxConcurrent : Environment.ProcessorCount;
}

/// <summary>There was no hashing slot free and no room to wait for one; answered 503 with Retry-After.</summary>
internal sealed class PasswordHashingBusyException() : Exception("Password hashing is at its concurrency limit.");

/// <summary>
/// ASP.NET Core's <see cref="PasswordHasher{TUser}"/> (format v3: PBKDF2-HMAC-SHA512, salt and
/// iteration count inside the hash) with its iteration count raised. A hash made with fewer rounds than
/// configured verifies as "rehash needed", so raising the setting upgrades hashes at the next login.
/// <para>
/// Every hash and verification a request causes goes through one concurrency limiter with a short queue,
/// so a flood of logins, registrations or password changes cannot occupy more than
/// <see cref="PasswordHashingOptions.MaxConcurrent"/> cores: past the queue it gets 503, while the
/// rest of the API keeps its share of the processor.
/// </para>
/// </summary>
internal sealed class PasswordHashing : IDisposable
{
    private readonly PasswordHasher<PasswordHashing> _hasher;
    private readonly ConcurrencyLimiter _limiter;
    private readonly UpDownCounter<long>? _active;
    private readonly Counter<long>? _refused;

    public PasswordHashing(IOptions<PasswordHashingOptions> options, IMeterFactory? meters = null)
    {
        _hasher = new(Options.Create(new PasswordHasherOptions
        {
            CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
            IterationCount = options.Value.Iterations,
        }));
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.Value.EffectiveConcurrency,
            QueueLimit = options.Value.QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        // A meter of this container's own (not QuartetMetrics' static one), so a test can watch one app.
        var meter = meters?.Create(QuartetMetrics.MeterName);
        _active = meter?.CreateUpDownCounter<long>("quartet.password_hashing.active",
            description: "Password hashes and verifications running now.");
        _refused = meter?.CreateCounter<long>("quartet.password_hashing.refused",
            description: "Requests refused with 503 because every password-hashing slot was busy and the queue full.");
    }

    /// <summary>Hashes without the limiter: for the hash-password command and one-off work at start.</summary>
    public string Hash(string password) => _hasher.HashPassword(this, password);

    public Task<string> HashAsync(string password, CancellationToken cancellationToken) =>
        RunAsync(() => _hasher.HashPassword(this, password), cancellationToken);

    public Task<PasswordVerificationResult> VerifyAsync(string hash, string password, CancellationToken cancellationToken) =>
        RunAsync(() => _hasher.VerifyHashedPassword(this, hash, password), cancellationToken);

    private async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        using var lease = await _limiter.AcquireAsync(1, cancellationToken);
        if (!lease.IsAcquired)
        {
            _refused?.Add(1);
            throw new PasswordHashingBusyException();
        }
        _active?.Add(1);
        try
        {
            return work();
        }
        finally
        {
            _active?.Add(-1);
        }
    }

    public void Dispose() => _limiter.Dispose();

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
