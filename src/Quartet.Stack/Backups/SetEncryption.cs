using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Quartet.Stack.Backups;

/// <summary>
/// The format of an encrypted file of a backup set (<c>quartet.dump.enc</c>, <c>redis.rdb.enc</c>), streamed
/// so a file of any size needs 64 KiB of memory. The header is the magic <c>QENC1</c>, a random 16-byte salt,
/// a random 7-byte nonce prefix and a 16-byte key check. The key is PBKDF2-HMAC-SHA256 of the passphrase and
/// the salt (600,000 iterations). The plaintext follows in 64 KiB chunks, each sealed with AES-256-GCM under
/// the nonce prefix, the chunk's number (big-endian) and a byte that is 1 on the last chunk only, with the
/// header as associated data (the STREAM construction): a changed byte, a dropped, reordered or repeated
/// chunk and a cut-off end all fail to authenticate. The key check only tells a wrong passphrase apart from a
/// damaged file; it proves nothing about the contents.
/// </summary>
public sealed class SetEncryption(string passphrase)
{
    public const string Algorithm = "aes-256-gcm";
    public const int ChunkSize = 64 * 1024;
    public const int Iterations = 600_000;

    private static readonly byte[] Magic = "QENC1"u8.ToArray();
    private const int SaltSize = 16;
    private const int PrefixSize = 7;
    private const int CheckSize = 16;
    private const int TagSize = 16;
    private const int HeaderSize = 5 + SaltSize + PrefixSize + CheckSize;
    private static readonly byte[] CheckLabel = "QENC1 key check"u8.ToArray();

    /// <summary>Reads <paramref name="plaintext"/> to its end and writes it sealed to <paramref name="encrypted"/>.</summary>
    public async Task EncryptAsync(Stream plaintext, Stream encrypted, CancellationToken cancellationToken)
    {
        var header = new byte[HeaderSize];
        Magic.CopyTo(header, 0);
        RandomNumberGenerator.Fill(header.AsSpan(Magic.Length, SaltSize + PrefixSize));
        var (key, check) = DeriveKey(header.AsSpan(Magic.Length, SaltSize));
        check.CopyTo(header, Magic.Length + SaltSize + PrefixSize);
        await encrypted.WriteAsync(header, cancellationToken);

        using var gcm = new AesGcm(key, TagSize);
        var prefix = header.AsMemory(Magic.Length + SaltSize, PrefixSize);
        // Two buffers: the chunk being sealed, and the next, read ahead to learn whether this one is the last.
        var current = new byte[ChunkSize];
        var next = new byte[ChunkSize];
        var sealedChunk = new byte[ChunkSize + TagSize];
        var length = await plaintext.ReadAtLeastAsync(current, ChunkSize, throwOnEndOfStream: false, cancellationToken);
        for (uint counter = 0; ; counter = Next(counter))
        {
            var nextLength = length < ChunkSize ? 0 : await plaintext.ReadAtLeastAsync(next, ChunkSize, throwOnEndOfStream: false, cancellationToken);
            var last = nextLength == 0;
            gcm.Encrypt(Nonce(prefix.Span, counter, last), current.AsSpan(0, length), sealedChunk.AsSpan(0, length),
                sealedChunk.AsSpan(length, TagSize), header);
            await encrypted.WriteAsync(sealedChunk.AsMemory(0, length + TagSize), cancellationToken);
            if (last)
            {
                return;
            }
            (current, next, length) = (next, current, nextLength);
        }
    }

    /// <summary>
    /// Reads <paramref name="encrypted"/> to its end and writes the plaintext to <paramref name="plaintext"/>, chunk by
    /// chunk as each authenticates. On a failure (a <see cref="StackException"/>), what was written already must be
    /// thrown away: only a decryption that returns has proven the whole file.
    /// </summary>
    public async Task DecryptAsync(Stream encrypted, Stream plaintext, CancellationToken cancellationToken)
    {
        var header = new byte[HeaderSize];
        var read = await encrypted.ReadAtLeastAsync(header, HeaderSize, throwOnEndOfStream: false, cancellationToken);
        if (read < Magic.Length || !header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new StackException("it is not an encrypted backup file (no QENC1 header)");
        }
        if (read < HeaderSize)
        {
            throw new StackException("it is cut short (its header is incomplete)");
        }
        var (key, check) = DeriveKey(header.AsSpan(Magic.Length, SaltSize));
        if (!CryptographicOperations.FixedTimeEquals(check, header.AsSpan(Magic.Length + SaltSize + PrefixSize, CheckSize)))
        {
            throw new StackException("it was encrypted with another passphrase (or its header was changed)");
        }

        using var gcm = new AesGcm(key, TagSize);
        var prefix = header.AsMemory(Magic.Length + SaltSize, PrefixSize);
        // One byte more than a whole sealed chunk: whether anything follows it tells whether it is the last.
        var buffer = new byte[ChunkSize + TagSize + 1];
        var plain = new byte[ChunkSize];
        var held = 0;
        for (uint counter = 0; ; counter = Next(counter))
        {
            held += await encrypted.ReadAtLeastAsync(buffer.AsMemory(held), buffer.Length - held, throwOnEndOfStream: false, cancellationToken);
            if (held < TagSize)
            {
                throw new StackException(counter == 0 ? "it is cut short (it holds no sealed data)" : $"it is cut short or damaged after chunk {counter}");
            }
            var last = held <= ChunkSize + TagSize;
            var sealedLength = last ? held : ChunkSize + TagSize;
            var length = sealedLength - TagSize;
            try
            {
                gcm.Decrypt(Nonce(prefix.Span, counter, last), buffer.AsSpan(0, length), buffer.AsSpan(length, TagSize), plain.AsSpan(0, length), header);
            }
            catch (AuthenticationTagMismatchException)
            {
                throw new StackException($"it is damaged, changed or cut short: chunk {counter + 1} does not authenticate");
            }
            await plaintext.WriteAsync(plain.AsMemory(0, length), cancellationToken);
            if (last)
            {
                return;
            }
            // The byte read ahead starts the next chunk.
            buffer[0] = buffer[ChunkSize + TagSize];
            held = 1;
        }
    }

    /// <summary>Encrypts one file into another (created new, mode 600).</summary>
    public async Task EncryptFileAsync(string plaintextPath, string encryptedPath, CancellationToken cancellationToken)
    {
        await using var input = File.OpenRead(plaintextPath);
        await using var output = CreatePrivate(encryptedPath);
        await EncryptAsync(input, output, cancellationToken);
        await output.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Decrypts one file into another (created new, mode 600); a failure names the file and removes the partial
    /// plaintext. A file already at <paramref name="plaintextPath"/> is refused and left as it is.
    /// </summary>
    public async Task DecryptFileAsync(string encryptedPath, string plaintextPath, CancellationToken cancellationToken)
    {
        await using var input = File.OpenRead(encryptedPath);
        // Created before the try: only a file this call made may be removed.
        var output = CreatePrivate(plaintextPath);
        try
        {
            await using (output)
            {
                await DecryptAsync(input, output, cancellationToken);
            }
        }
        catch (StackException e)
        {
            File.Delete(plaintextPath);
            throw new StackException($"cannot decrypt {Path.GetFileName(encryptedPath)}: {e.Message}");
        }
        catch
        {
            File.Delete(plaintextPath);
            throw;
        }
    }

    private static FileStream CreatePrivate(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.CreateNew,
        Access = FileAccess.Write,
        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
    });

    private (byte[] Key, byte[] Check) DeriveKey(ReadOnlySpan<byte> salt)
    {
        var key = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(passphrase), salt, Iterations, HashAlgorithmName.SHA256, 32);
        return (key, HMACSHA256.HashData(key, CheckLabel)[..CheckSize]);
    }

    private static byte[] Nonce(ReadOnlySpan<byte> prefix, uint counter, bool last)
    {
        var nonce = new byte[PrefixSize + 4 + 1];
        prefix.CopyTo(nonce);
        BinaryPrimitives.WriteUInt32BigEndian(nonce.AsSpan(PrefixSize), counter);
        nonce[^1] = last ? (byte)1 : (byte)0;
        return nonce;
    }

    private static uint Next(uint counter) =>
        counter == uint.MaxValue ? throw new StackException("a file of more than 256 TiB cannot be encrypted in one stream") : counter + 1;
}
