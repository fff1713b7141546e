using System.Net;
using System.Text;
using Npgsql;
using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>
/// Encryption at rest with the real servers: the shared native stack is started again with
/// QUARTET_BACKUP_ENCRYPTION on and a backup folder of its own, backs up, and must leave nothing readable
/// in the folder without the passphrase, yet verify, drill and restore from it. A mismatched repository,
/// a PostgreSQL started without the passphrase and a missing passphrase are refused with one line. The
/// shared stack is started again as it was afterwards.
/// </summary>
[Trait("Category", "Backup")]
[Collection(NativeStackCollection.Name)]
public sealed class EncryptedBackupTests(NativeBackupFixture fixture)
{
    [Fact]
    public async Task AnEncryptedStackStoresOnlyCiphertextYetVerifiesDrillsAndRestoresAndRefusesAMismatchOrAMissingPassphrase()
    {
        var ct = TestContext.Current.CancellationToken;
        var plain = fixture.Stack;
        var folder = new BackupLayout(Path.TrimEndingDirectorySeparator(plain.Layout.DataDirectory) + "-encrypted-backups");
        var settings = plain.Settings with { EncryptBackups = true };
        await plain.UpAsync(ct);
        IReadOnlyList<string> earlier = [.. Asides(plain.Postgres.DataDirectory), .. Asides(plain.Redis.DataDirectory)];
        var stack = new NativeStack(plain.Layout, settings, fixture.Say, detached: false, backups: folder);
        try
        {
            var passphrase = stack.Secrets.PathOf(DevelopmentSecrets.BackupPassphrase);
            File.Delete(passphrase);
            // A PostgreSQL started without the passphrase could not archive into the encrypted repository.
            var restart = await Assert.ThrowsAsync<StackException>(() => stack.UpAsync(ct));
            Assert.Equal($"PostgreSQL (pid {plain.Postgres.Pid}) runs without the backups' passphrase, which QUARTET_BACKUP_ENCRYPTION=on needs to archive: " +
                "restart the stack (./quartet down, then ./quartet up)", restart.Message);
            await plain.DownAsync(ct);
            await stack.UpAsync(ct);
            Assert.Contains(fixture.Said, l => l == $"created {passphrase}: the backups are encrypted with it and cannot be read without it; " +
                "keep a copy off this machine, apart from the backups");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(passphrase));
            var secret = await File.ReadAllTextAsync(passphrase, ct);
            Assert.Equal(32, Convert.FromBase64String(secret).Length);

            var canary = "encrypted at rest " + Guid.NewGuid().ToString("N");
            var client = fixture.NewClient();
            await client.RegisterAndLoginAsync(ApiClient.NewEmail("encrypted"));
            await client.CreateNoteAsync("a secret note", canary);

            var backups = new StackBackups(stack, fixture.Say);
            var manifest = await backups.TakeAsync(ct);
            Assert.Equal("aes-256-gcm", manifest.Encrypted);
            Assert.Equal(new[] { "quartet.dump.enc", "redis.rdb.enc" }, manifest.Files.Select(f => f.Name));
            var set = (await backups.ListAsync(ct))[^1];
            Assert.Equal(new[] { "manifest.json", "quartet.dump.enc", "redis.rdb.enc" },
                Directory.GetFiles(set.Directory).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal));

            // pgBackRest encrypts its repository, with the passphrase only in its environment.
            Assert.Equal("aes-256-cbc", await stack.PgBackRest.CipherAsync(ct));
            var config = await File.ReadAllTextAsync(folder.PgBackRestConfig, ct);
            Assert.Contains("repo1-cipher-type=aes-256-cbc", config, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, config, StringComparison.Ordinal);
            Assert.DoesNotContain("cipher-pass", config, StringComparison.Ordinal);
            Assert.True(stack.PgBackRest.RepositoryEncrypted());
            foreach (var file in Directory.GetFiles(folder.Root, "*", SearchOption.AllDirectories))
            {
                Assert.DoesNotContain(secret, await File.ReadAllTextAsync(file, Encoding.Latin1, ct), StringComparison.Ordinal);
            }

            // Nothing of the data is readable in the stored files; the decrypted dump holds the note.
            var sets = backups.Sets;
            foreach (var file in manifest.Files)
            {
                var stored = await File.ReadAllBytesAsync(Path.Combine(set.Directory, file.Name), ct);
                Assert.True(stored.AsSpan(0, 5).SequenceEqual("QENC1"u8), $"{file.Name} starts {Encoding.ASCII.GetString(stored, 0, 5)}");
                foreach (var plaintext in (string[])["PGDMP", "REDIS", canary, "quartet:"])
                {
                    Assert.True(stored.AsSpan().IndexOf(Encoding.UTF8.GetBytes(plaintext)) < 0, $"{file.Name} holds '{plaintext}' in plain text");
                }
            }
            using (var scratch = sets.NewScratch(set))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(scratch!.Directory));
                var dump = await sets.OpenAsync(set, "quartet.dump", scratch, ct);
                var sql = await CommandRunner.RunCheckedAsync(new Command(Tools.Postgres("pg_restore"), ["--data-only", "-f", "-", dump]), ct);
                Assert.Contains(canary, sql.Output, StringComparison.Ordinal);
                var snapshot = await File.ReadAllBytesAsync(await sets.OpenAsync(set, "redis.rdb", scratch, ct), ct);
                Assert.True(snapshot.AsSpan(0, 5).SequenceEqual("REDIS"u8), "the decrypted snapshot is not an RDB file");
                Assert.True(snapshot.AsSpan().IndexOf("quartet:"u8) >= 0, "the decrypted snapshot holds none of the stack's keys");
            }
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(plain.Layout.StateDirectory, "tmp")));

            // ./quartet backups --verify decrypts and checks every file; the drill restores from the set beside the stack.
            Assert.Equal(0, await sets.PrintAsync(verify: true, ct));
            var report = await new RestoreDrill(stack, fixture.Say).RunAsync(ct);
            Assert.Equal(manifest.Id, report.BackupId);
            Assert.True(report.Users >= 1, $"the drill's restore holds {report.Users} users");
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(plain.Layout.StateDirectory, "tmp")));

            // A restore from it brings the note back, and the session (Redis, from the decrypted snapshot).
            await stack.DownAsync(ct);
            var restoredSet = await backups.RestoreAsync(new RestoreRequest(null, null, Force: false), ct);
            Assert.Equal(manifest.Id, restoredSet.Manifest.Id);
            await stack.UpAsync(ct);
            await using (var db = new NpgsqlConnection(stack.Postgres.ConnectionString(NativeStack.Database, pooling: false)))
            {
                await db.OpenAsync(ct);
                await using var count = new NpgsqlCommand("SELECT count(*) FROM notes WHERE body = $1", db) { Parameters = { new() { Value = canary } } };
                Assert.Equal(1L, (long)(await count.ExecuteScalarAsync(ct))!);
            }
            using (var me = await client.GetAsync("/api/auth/me", ct))
            {
                Assert.Equal(HttpStatusCode.OK, me.StatusCode);
            }
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(plain.Layout.StateDirectory, "tmp")));

            // The setting must agree with the repository, either way, before anything runs.
            var unencrypted = new NativeStack(plain.Layout, plain.Settings, fixture.Say, detached: false, backups: folder);
            var refused = await Assert.ThrowsAsync<StackException>(() => unencrypted.UpAsync(ct));
            Assert.Equal($"the backup repository in {folder.PgBackRestRepository} was created encrypted and QUARTET_BACKUP_ENCRYPTION is off; " +
                $"a repository's encryption cannot change: stop the stack, move the backup folder {folder.Root} aside or set QUARTET_BACKUP_DIR " +
                "to a new folder, start it and take a new backup (or set QUARTET_BACKUP_ENCRYPTION=on again)", refused.Message);
            Assert.Equal(config, await File.ReadAllTextAsync(folder.PgBackRestConfig, ct));
            var onPlainFolder = new NativeStack(plain.Layout, settings, fixture.Say, detached: false, backups: plain.BackupLayout);
            refused = await Assert.ThrowsAsync<StackException>(() => onPlainFolder.UpAsync(ct));
            Assert.StartsWith($"the backup repository in {plain.BackupLayout.PgBackRestRepository} was created without encryption and QUARTET_BACKUP_ENCRYPTION is on; " +
                "a repository's encryption cannot change", refused.Message, StringComparison.Ordinal);
            refused = await Assert.ThrowsAsync<StackException>(() => new StackBackups(unencrypted, fixture.Say).Sets.VerifyAsync(set, ct));
            Assert.Equal($"backup {set.Manifest.Id} is encrypted and QUARTET_BACKUP_ENCRYPTION is off here: set it to on, with the backup_passphrase secret in the secrets folder",
                refused.Message);

            // Without the passphrase nothing is read, restored or made up anew.
            File.Move(passphrase, passphrase + ".away");
            try
            {
                var missing = $"the backups are encrypted and their passphrase is missing: put the backup_passphrase secret (the copy kept off this machine) in {passphrase}";
                refused = await Assert.ThrowsAsync<StackException>(() => backups.Sets.VerifyAsync(set, ct));
                Assert.Equal(missing, refused.Message);
                refused = await Assert.ThrowsAsync<StackException>(() => backups.RestoreAsync(new RestoreRequest(null, null, Force: true), ct));
                Assert.Equal(missing, refused.Message);
                Assert.True(stack.Postgres.IsRunning && stack.Backend.IsRunning, "a refused restore must leave the stack running");
                refused = await Assert.ThrowsAsync<StackException>(() => new NativeStack(plain.Layout, settings, fixture.Say, detached: false, backups: folder).UpAsync(ct));
                Assert.Equal(missing, refused.Message);
                Assert.False(File.Exists(passphrase), "a new passphrase was made for a repository encrypted with another");
            }
            finally
            {
                File.Move(passphrase + ".away", passphrase);
            }
        }
        finally
        {
            await stack.DownAsync(CancellationToken.None);
            // The data the restore moved aside goes back, so the shared stack goes on from the timeline its own repository knows.
            PutBack(plain.Postgres.DataDirectory, earlier);
            PutBack(plain.Redis.DataDirectory, earlier);
            await plain.UpAsync(CancellationToken.None);
        }
    }

    /// <summary>The folders restores have moved a data folder to.</summary>
    private static IReadOnlyList<string> Asides(string directory) =>
        Directory.GetDirectories(Path.GetDirectoryName(directory)!, Path.GetFileName(directory) + ".before-restore-*");

    /// <summary>The data folder as it was before this test's restore, when it made one.</summary>
    private static void PutBack(string directory, IReadOnlyList<string> earlier)
    {
        if (Asides(directory).Except(earlier).SingleOrDefault() is not { } aside)
        {
            return;
        }
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
        Directory.Move(aside, directory);
    }
}
