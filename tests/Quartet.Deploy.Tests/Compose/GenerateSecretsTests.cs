namespace Quartet.Deploy.Tests.Compose;

/// <summary>scripts/generate-secrets.sh, which production's secrets come from.</summary>
[Collection(ComposeCollection.Name)]
[Trait("Category", "Compose")]
[Step(3)]
public sealed class GenerateSecretsTests(ComposeSuite suite)
{
    private static readonly string[] Names = ["db_password", "db_owner_password", "db_app_password", "redis_password", "redis_backup_password", "backup_passphrase", "session_secret", "jwt_secret", "admin_password_hash"];

    private const UnixFileMode OwnerReadWriteGroupRead = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    [Fact]
    public async Task MakesSixGroupReadableSecretsWithoutATerminalAndASecondRunKeepsThem()
    {
        suite.RequireImages();
        var cancellationToken = TestContext.Current.CancellationToken;
        var directory = Path.Combine(suite.Work, "secrets-check");
        var password = Path.Combine(suite.Work, "admin_password_check");

        var first = await suite.GenerateSecretsAsync(directory, password, cancellationToken);
        Assert.True(first.Succeeded, $"generate-secrets.sh exited with {first.ExitCode}\n{first.Tail()}");
        var missing = Names.Where(name => !File.Exists(Path.Combine(directory, name)) || new FileInfo(Path.Combine(directory, name)).Length == 0).ToList();
        Assert.True(missing.Count == 0, $"generate-secrets.sh made no {string.Join(", ", missing)}");

        // .NET reads a file's mode but not its group; stat(1) tells the group.
        var stat = await suite.RunAsync(["stat", "-c", "%n %g", .. Names.Select(name => Path.Combine(directory, name))],
            new Dictionary<string, string?>(), TimeSpan.FromSeconds(20), cancellationToken);
        Assert.True(stat.Succeeded, stat.Tail());
        var groups = stat.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .ToDictionary(parts => Path.GetFileName(parts[0]), parts => parts[1]);
        var wrong = new List<string>();
        foreach (var name in Names)
        {
            var mode = File.GetUnixFileMode(Path.Combine(directory, name));
            var octal = Convert.ToString((int)mode, 8);
            suite.Log.Say($"{name}: mode {octal}, group {groups.GetValueOrDefault(name)}");
            if (mode != OwnerReadWriteGroupRead || groups.GetValueOrDefault(name) != "10001")
            {
                wrong.Add($"{name} has mode {octal} and group {groups.GetValueOrDefault(name)}");
            }
        }
        Assert.True(wrong.Count == 0, $"{string.Join("; ", wrong)} (expected mode 640, group 10001)");
        var directoryMode = File.GetUnixFileMode(directory);
        Assert.True(directoryMode == (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute),
            $"the secrets directory has mode {Convert.ToString((int)directoryMode, 8)}, not 700");

        var before = Names.ToDictionary(name => name, name => File.ReadAllText(Path.Combine(directory, name)));
        var second = await suite.GenerateSecretsAsync(directory, password, cancellationToken);
        Assert.True(second.Succeeded, $"a second run exited with {second.ExitCode}\n{second.Tail()}");
        var changed = Names.Where(name => File.ReadAllText(Path.Combine(directory, name)) != before[name]).ToList();
        suite.Log.Say($"second run: {Names.Length - changed.Count} of {Names.Length} secrets kept");
        Assert.True(changed.Count == 0, $"a second run without --force changed {string.Join(", ", changed)}");
    }
}
