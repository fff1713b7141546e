using System.Security.Cryptography;
using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>
/// The format of an encrypted set's files: what goes in comes out, and a wrong passphrase, a changed byte, a
/// dropped last chunk or two chunks swapped are each refused with one line, never returned as data.
/// </summary>
[Trait("Category", "Backup")]
public sealed class SetEncryptionTests
{
    private const int Chunk = SetEncryption.ChunkSize;
    private const int Header = 44;
    private const int Tag = 16;

    private static readonly SetEncryption Files = new("correct horse battery staple");

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk - 1)]
    [InlineData(Chunk)]
    [InlineData(Chunk + 1)]
    [InlineData(3 * 1024 * 1024 + 17)]
    public async Task WhatIsEncryptedDecryptsToTheSameBytes(int length)
    {
        var plaintext = RandomNumberGenerator.GetBytes(length);
        var encrypted = await EncryptAsync(plaintext);

        // Every chunk is whole but the last, which may be empty; each carries its tag.
        var chunks = Math.Max(1, (length + Chunk - 1) / Chunk);
        Assert.Equal(Header + length + chunks * Tag, encrypted.Length);
        Assert.Equal(plaintext, await DecryptAsync(encrypted));
    }

    [Fact]
    public async Task TheSamePlaintextEncryptsDifferentlyEachTime()
    {
        var plaintext = "the same note body"u8.ToArray();
        Assert.NotEqual(await EncryptAsync(plaintext), await EncryptAsync(plaintext));
    }

    [Fact]
    public async Task AWrongPassphraseIsToldApartFromDamage()
    {
        var encrypted = await EncryptAsync(RandomNumberGenerator.GetBytes(1000));
        var e = await Assert.ThrowsAsync<StackException>(() => DecryptAsync(encrypted, new SetEncryption("another passphrase")));
        Assert.Equal("it was encrypted with another passphrase (or its header was changed)", e.Message);
    }

    [Fact]
    public async Task AFlippedByteAnywhereIsRefused()
    {
        var plaintext = RandomNumberGenerator.GetBytes(2 * Chunk + 100);
        var encrypted = await EncryptAsync(plaintext);
        // The magic, the salt, the nonce prefix, the key check, a first chunk's byte and tag, the last chunk's bytes and its tag.
        int[] positions = [0, 5, 21, 28, Header, Header + Chunk + 3, Header + Chunk + Tag, Header + 2 * (Chunk + Tag) + 5, encrypted.Length - 1];
        foreach (var at in positions)
        {
            var damaged = (byte[])encrypted.Clone();
            damaged[at] ^= 0x40;
            var e = await Assert.ThrowsAsync<StackException>(() => DecryptAsync(damaged));
            Assert.False(string.IsNullOrEmpty(e.Message), $"byte {at}");
        }
    }

    [Fact]
    public async Task AChangedChunkSaysWhichDoesNotAuthenticate()
    {
        var encrypted = await EncryptAsync(RandomNumberGenerator.GetBytes(2 * Chunk + 100));
        encrypted[Header + Chunk + Tag + 10] ^= 0x01;
        var e = await Assert.ThrowsAsync<StackException>(() => DecryptAsync(encrypted));
        Assert.Equal("it is damaged, changed or cut short: chunk 2 does not authenticate", e.Message);
    }

    [Theory]
    [InlineData(Chunk + 100)]
    [InlineData(2 * Chunk)]
    public async Task AFileWithoutItsLastChunkIsRefused(int length)
    {
        var encrypted = await EncryptAsync(RandomNumberGenerator.GetBytes(length));
        var lastChunk = length % Chunk == 0 ? Chunk + Tag : length % Chunk + Tag;
        var truncated = encrypted[..^lastChunk];
        Assert.Equal(Header + Chunk + Tag, truncated.Length);
        var e = await Assert.ThrowsAsync<StackException>(() => DecryptAsync(truncated));
        Assert.Equal("it is damaged, changed or cut short: chunk 1 does not authenticate", e.Message);
    }

    [Fact]
    public async Task AFileCutToItsHeaderIsRefused()
    {
        var encrypted = await EncryptAsync(RandomNumberGenerator.GetBytes(10));
        var e = await Assert.ThrowsAsync<StackException>(() => DecryptAsync(encrypted[..Header]));
        Assert.Equal("it is cut short (it holds no sealed data)", e.Message);
    }

    [Fact]
    public async Task SwappedChunksAreRefused()
    {
        var encrypted = await EncryptAsync(RandomNumberGenerator.GetBytes(3 * Chunk + 1));
        var sealedChunk = Chunk + Tag;
        var swapped = (byte[])encrypted.Clone();
        encrypted.AsSpan(Header, sealedChunk).CopyTo(swapped.AsSpan(Header + sealedChunk));
        encrypted.AsSpan(Header + sealedChunk, sealedChunk).CopyTo(swapped.AsSpan(Header));
        var e = await Assert.ThrowsAsync<StackException>(() => DecryptAsync(swapped));
        Assert.Equal("it is damaged, changed or cut short: chunk 1 does not authenticate", e.Message);
    }

    [Fact]
    public async Task APlainFileIsNotTakenForAnEncryptedOne()
    {
        var e = await Assert.ThrowsAsync<StackException>(() => DecryptAsync("REDIS0011 a snapshot"u8.ToArray()));
        Assert.Equal("it is not an encrypted backup file (no QENC1 header)", e.Message);
    }

    [Fact]
    public async Task AFileThatDoesNotDecryptLeavesNoPlaintextBehindAndIsNamed()
    {
        var folder = TestPaths.NewDirectory("set-encryption");
        try
        {
            var plain = Path.Combine(folder, "redis.rdb");
            await File.WriteAllBytesAsync(plain, RandomNumberGenerator.GetBytes(Chunk * 2), TestContext.Current.CancellationToken);
            var encrypted = plain + ".enc";
            await Files.EncryptFileAsync(plain, encrypted, TestContext.Current.CancellationToken);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(encrypted));
            var bytes = await File.ReadAllBytesAsync(encrypted, TestContext.Current.CancellationToken);
            bytes[^1] ^= 0x01;
            await File.WriteAllBytesAsync(encrypted, bytes, TestContext.Current.CancellationToken);

            var decrypted = Path.Combine(folder, "decrypted.rdb");
            var e = await Assert.ThrowsAsync<StackException>(() => Files.DecryptFileAsync(encrypted, decrypted, TestContext.Current.CancellationToken));
            Assert.Equal("cannot decrypt redis.rdb.enc: it is damaged, changed or cut short: chunk 2 does not authenticate", e.Message);
            Assert.False(File.Exists(decrypted), "the chunk that did authenticate was left on disk in plain text");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task DecryptingOntoAnExistingFileIsRefusedAndLeavesItAsItWas()
    {
        var folder = TestPaths.NewDirectory("set-encryption");
        try
        {
            var plain = Path.Combine(folder, "quartet.dump");
            await File.WriteAllBytesAsync(plain, RandomNumberGenerator.GetBytes(1000), TestContext.Current.CancellationToken);
            await Files.EncryptFileAsync(plain, plain + ".enc", TestContext.Current.CancellationToken);
            var existing = Path.Combine(folder, "existing.dump");
            await File.WriteAllTextAsync(existing, "someone else's file", TestContext.Current.CancellationToken);

            await Assert.ThrowsAsync<IOException>(() => Files.DecryptFileAsync(plain + ".enc", existing, TestContext.Current.CancellationToken));
            Assert.Equal("someone else's file", await File.ReadAllTextAsync(existing, TestContext.Current.CancellationToken));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<byte[]> EncryptAsync(byte[] plaintext)
    {
        using var output = new MemoryStream();
        await Files.EncryptAsync(new MemoryStream(plaintext), output, TestContext.Current.CancellationToken);
        return output.ToArray();
    }

    private static async Task<byte[]> DecryptAsync(byte[] encrypted, SetEncryption? with = null)
    {
        using var output = new MemoryStream();
        await (with ?? Files).DecryptAsync(new MemoryStream(encrypted), output, TestContext.Current.CancellationToken);
        return output.ToArray();
    }
}
