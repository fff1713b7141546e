using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>
/// <c>./quartet backups --verify</c> on a set that is not encrypted reads what its files hold, as it does for
/// an encrypted one: a dump and a snapshot replaced by other bytes, with the manifest's checksums made to
/// match them, pass every checksum and must still be reported, one line per file naming the set.
/// </summary>
[Trait("Category", "Backup")]
[Collection(NativeStackCollection.Name)]
public sealed class VerifyTests(NativeBackupFixture fixture)
{
    [Fact]
    public async Task VerifyReadsAnUnencryptedSetsDumpAndSnapshotNotOnlyTheirChecksums()
    {
        var ct = TestContext.Current.CancellationToken;
        await fixture.Stack.UpAsync(ct);
        var id = (await fixture.Backups.TakeAsync(ct)).Id;
        var sets = fixture.Backups.Sets;
        var set = (await sets.ListAsync(ct)).Single(s => s.Manifest.Id == id);
        Assert.Null(set.Manifest.Encrypted);
        Assert.Empty(await sets.VerifyAsync(set, ct));

        var dump = Path.Combine(set.Directory, "quartet.dump");
        var snapshot = Path.Combine(set.Directory, "redis.rdb");
        var good = (await BackupManifest.ReadAsync(set.Directory, ct))!;
        File.Move(dump, dump + ".kept");
        File.Move(snapshot, snapshot + ".kept");
        try
        {
            await File.WriteAllTextAsync(dump, "this is not a dump\n", ct);
            await File.WriteAllTextAsync(snapshot, "this is not a snapshot\n", ct);
            var files = new List<BackupFile>();
            foreach (var path in (string[])[dump, snapshot])
            {
                files.Add(await BackupManifest.DescribeAsync(path, ct));
            }
            var damaged = good with { Files = files };
            await damaged.WriteAsync(set.Directory, ct);
            Assert.Empty(await damaged.CheckFilesAsync(set.Directory, ct));

            var problems = await sets.VerifyAsync(set with { Manifest = damaged }, ct);
            Assert.Equal(
                [
                    $"quartet.dump of backup {id} is not a dump pg_restore can read: pg_restore: error: input file does not appear to be a valid archive (too short?)",
                    $"redis.rdb of backup {id} is not an RDB file (it does not start with REDIS)",
                ],
                problems);
            Assert.Equal(damaged.VerifiedAt, (await BackupManifest.ReadAsync(set.Directory, ct))!.VerifiedAt);

            // The listing's row for the set says so on one line, and the command exits 1.
            var output = new StringWriter();
            var console = Console.Out;
            Console.SetOut(output);
            int exit;
            try
            {
                exit = await sets.PrintAsync(verify: true, ct);
            }
            finally
            {
                Console.SetOut(console);
            }
            Assert.Equal(1, exit);
            var row = Assert.Single(output.ToString().Split('\n'), l => l.StartsWith(id, StringComparison.Ordinal));
            Assert.Contains($"FAILED: quartet.dump of backup {id} is not a dump pg_restore can read", row, StringComparison.Ordinal);
            Assert.Contains($"; redis.rdb of backup {id} is not an RDB file", row, StringComparison.Ordinal);
        }
        finally
        {
            File.Move(dump + ".kept", dump, overwrite: true);
            File.Move(snapshot + ".kept", snapshot, overwrite: true);
            await good.WriteAsync(set.Directory, CancellationToken.None);
        }
        Assert.Empty(await sets.VerifyAsync(set, ct));
    }
}
