using System.Security.Cryptography;
using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>
/// <c>./quartet decrypt FILE.enc OUTPUT</c> on files sealed by <see cref="SetEncryption"/>: what was encrypted
/// comes back byte for byte, and a changed file, an existing OUTPUT and a missing passphrase are each refused
/// with the one line the operator reads, leaving no OUTPUT behind and an existing one untouched.
/// </summary>
[Trait("Category", "Backup")]
public sealed class DecryptCommandTests : IDisposable
{
    private const string Passphrase = "correct horse battery staple";

    private readonly string _folder = TestPaths.NewDirectory("decrypt");
    private readonly List<string> _said = [];

    private string PassphraseFile => Path.Combine(_folder, "secrets", DevelopmentSecrets.BackupPassphrase);

    public DecryptCommandTests()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PassphraseFile)!);
        File.WriteAllText(PassphraseFile, Passphrase + "\n");
    }

    [Fact]
    public async Task WhatSetEncryptionSealedDecryptsToTheSameBytesInAPrivateFile()
    {
        var plaintext = RandomNumberGenerator.GetBytes(3 * SetEncryption.ChunkSize + 17);
        var encrypted = await EncryptAsync("quartet.dump", plaintext);
        var output = Path.Combine(_folder, "quartet.dump");

        await RunAsync(encrypted, output);

        Assert.Equal(plaintext, await File.ReadAllBytesAsync(output, TestContext.Current.CancellationToken));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(output));
        Assert.Equal([$"decrypted {encrypted} into {output} ({plaintext.Length} bytes, every chunk authenticated)"], _said);
    }

    [Fact]
    public async Task AFlippedByteIsRefusedWithOneLineAndLeavesNoOutput()
    {
        var encrypted = await EncryptAsync("redis.rdb", RandomNumberGenerator.GetBytes(2 * SetEncryption.ChunkSize + 100));
        var bytes = await File.ReadAllBytesAsync(encrypted, TestContext.Current.CancellationToken);
        bytes[^40] ^= 0x01;
        await File.WriteAllBytesAsync(encrypted, bytes, TestContext.Current.CancellationToken);
        var output = Path.Combine(_folder, "redis.rdb");

        var refused = await Assert.ThrowsAsync<StackException>(() => RunAsync(encrypted, output));

        Assert.Equal("cannot decrypt redis.rdb.enc: it is damaged, changed or cut short: chunk 3 does not authenticate", refused.Message);
        Assert.False(File.Exists(output), "a file that did not authenticate left its partial plaintext");
        Assert.Empty(_said);
    }

    [Fact]
    public async Task AnExistingOutputIsRefusedAndLeftAsItWas()
    {
        var encrypted = await EncryptAsync("quartet.dump", RandomNumberGenerator.GetBytes(1000));
        var output = Path.Combine(_folder, "kept.dump");
        await File.WriteAllTextAsync(output, "the operator's own file", TestContext.Current.CancellationToken);

        var refused = await Assert.ThrowsAsync<StackException>(() => RunAsync(encrypted, output));

        Assert.Equal($"decrypt: {output} exists already; name a new file", refused.Message);
        Assert.Equal("the operator's own file", await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken));
        Assert.Empty(_said);
    }

    [Fact]
    public async Task AMissingPassphraseIsRefusedWithOneLineNamingTheSecret()
    {
        var encrypted = await EncryptAsync("quartet.dump", RandomNumberGenerator.GetBytes(1000));
        File.Delete(PassphraseFile);
        var output = Path.Combine(_folder, "quartet.dump");

        var refused = await Assert.ThrowsAsync<StackException>(() => RunAsync(encrypted, output));

        Assert.Equal("the backups are encrypted and their passphrase is missing: put the backup_passphrase secret " +
            $"(the copy kept off this machine) in {PassphraseFile}", refused.Message);
        Assert.False(File.Exists(output));
        Assert.Empty(_said);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private Task RunAsync(string input, string output) =>
        DecryptCommand.RunAsync([input, output], () => new BackupEncryption(PassphraseFile, Path.Combine(_folder, "tmp")), _said.Add,
            TestContext.Current.CancellationToken);

    private async Task<string> EncryptAsync(string name, byte[] plaintext)
    {
        var source = Path.Combine(_folder, name + ".plain");
        await File.WriteAllBytesAsync(source, plaintext, TestContext.Current.CancellationToken);
        var encrypted = Path.Combine(_folder, name + BackupEncryption.Suffix);
        await new SetEncryption(Passphrase).EncryptFileAsync(source, encrypted, TestContext.Current.CancellationToken);
        return encrypted;
    }
}
