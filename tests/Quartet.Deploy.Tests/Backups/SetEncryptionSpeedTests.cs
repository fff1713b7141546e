using System.Diagnostics;
using System.Security.Cryptography;
using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>
/// How fast <see cref="SetEncryption"/> encrypts and decrypts a set's file, file to file as a backup does it.
/// A measurement with one check: the bytes of a file of many chunks come back whole; the speed is printed, never
/// asserted. After <c>dotnet build -c Release</c>, run the test binary itself so its line is shown (set
/// QUARTET_ENCRYPTION_BENCH_MB for another size):
/// <c>tests/Quartet.Deploy.Tests/bin/Release/net10.0/Quartet.Deploy.Tests --filter-class '*.SetEncryptionSpeedTests' --output Detailed</c>.
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class SetEncryptionSpeedTests(ITestOutputHelper output)
{
    /// <summary>64 MB in the suite (about a second each way here); the figures in operations.md are of 200.</summary>
    private static readonly int Megabytes = int.TryParse(Environment.GetEnvironmentVariable("QUARTET_ENCRYPTION_BENCH_MB"), out var mb) && mb > 0 ? mb : 64;

    [Fact]
    public async Task EncryptAndDecryptALargeFile()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = TestPaths.NewDirectory("speed");
        try
        {
            var plain = Path.Combine(folder, "quartet.dump");
            await using (var file = File.Create(plain))
            {
                var block = new byte[1_000_000];
                for (var i = 0; i < Megabytes; i++)
                {
                    RandomNumberGenerator.Fill(block);
                    await file.WriteAsync(block, ct);
                }
            }
            var files = new SetEncryption("correct horse battery staple");

            // The key's derivation (PBKDF2, once per file) is the fixed part of each figure below.
            var clock = Stopwatch.StartNew();
            await files.EncryptAsync(Stream.Null, Stream.Null, ct);
            var derivation = clock.Elapsed;

            clock.Restart();
            await files.EncryptFileAsync(plain, plain + ".enc", ct);
            var encrypt = clock.Elapsed;
            clock.Restart();
            await files.DecryptFileAsync(plain + ".enc", plain + ".out", ct);
            var decrypt = clock.Elapsed;

            Assert.Equal(await HashAsync(plain, ct), await HashAsync(plain + ".out", ct));
            output.WriteLine($"{Megabytes} MB (10^6 bytes) file to file on {Environment.ProcessorCount} cores: " +
                $"encrypt {Megabytes / encrypt.TotalSeconds:0} MB/s ({encrypt.TotalSeconds:0.00} s), " +
                $"decrypt {Megabytes / decrypt.TotalSeconds:0} MB/s ({decrypt.TotalSeconds:0.00} s); " +
                $"key derivation {derivation.TotalSeconds:0.00} s of each");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<byte[]> HashAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return await SHA256.HashDataAsync(file, cancellationToken);
    }
}
