using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Passwords;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Tests.Infrastructure.Secrets;

/// <summary>
/// The development stack's secrets are public (deploy/docker/development-secrets/): Production refuses each
/// of them, and any hash of the development admin password, with one line naming the secret.
/// </summary>
public sealed class DevelopmentSecretsTests(SharedStack shared)
{
    private static readonly string Published = Path.Combine(TestPaths.Repository, "deploy", "docker", "development-secrets");

    [Fact]
    public void EveryPublishedValueIsKnownByItsHashAndNoneByItsText()
    {
        var files = Directory.GetFiles(Published).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).ToList();
        Assert.Equal(7, files.Count);
        var source = string.Concat(Directory.GetFiles(Path.Combine(TestPaths.Repository, "src"), "*.cs", SearchOption.AllDirectories).Select(File.ReadAllText));
        foreach (var file in files)
        {
            var value = File.ReadAllText(file).TrimEnd('\r', '\n');
            Assert.True(DevelopmentValues.IsPublished(value), $"{Path.GetFileName(file)}: its SHA-256 is not in DevelopmentValues");
            Assert.DoesNotContain(value, source, StringComparison.Ordinal);
        }
        Assert.Equal(files.Count, DevelopmentValues.Hashes.Count);
    }

    [Theory]
    [InlineData("session_secret")]
    [InlineData("jwt_secret")]
    [InlineData("redis_password")]
    [InlineData("db_password")]
    [InlineData("db_app_password")]
    public async Task ServeInProductionRefusesEachPublishedSecret(string name)
    {
        var stack = shared.Stack;
        var secrets = new TestSecrets(stack);
        var environment = BackendProcess.Environment(stack, "postgres", secrets, name);
        environment[name.ToUpperInvariant() + "_FILE"] = Path.Combine(Published, name);
        if (name == "db_app_password")
        {
            // serve reads the data-only role's password only when it is not the owner.
            environment["Database__Username"] = "quartet_app";
        }

        var result = await BackendProcess.RunAsync(environment, input: null);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith($"Secret '{name}' (from {name.ToUpperInvariant()}_FILE) is a development default, which is refused outside Development", line, StringComparison.Ordinal);
        Assert.Contains("scripts/generate-secrets.sh", line, StringComparison.Ordinal);
        Assert.DoesNotContain((await File.ReadAllTextAsync(Path.Combine(Published, name))).Trim(), result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MigrateInProductionRefusesThePublishedAdminHash()
    {
        var result = await MigrateWithAdminHashAsync(Path.Combine(Published, "admin_password_hash"));

        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith("Secret 'admin_password_hash' (from ADMIN_PASSWORD_HASH_FILE) is a development default",
            Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MigrateInProductionRefusesANewHashOfTheDevelopmentAdminPassword()
    {
        // What generate-secrets.sh makes when the operator types the development password: a new salt, the same password.
        var hash = new PasswordHashing(Options.Create(new PasswordHashingOptions())).Hash("dev-insecure-" + "admin-password");
        var file = Path.Combine(TestPaths.NewDirectory("admin"), "admin_password_hash");
        await File.WriteAllTextAsync(file, hash + "\n", TestContext.Current.CancellationToken);

        var result = await MigrateWithAdminHashAsync(file);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("Secret 'admin_password_hash' (from ADMIN_PASSWORD_HASH_FILE) is a hash of the development admin password, which is refused outside Development",
            line, StringComparison.Ordinal);
        Assert.Contains("scripts/generate-secrets.sh", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MigrateInProductionAcceptsAHashOfAnotherPassword()
    {
        var hash = new PasswordHashing(Options.Create(new PasswordHashingOptions())).Hash("an operator's own passphrase");
        var file = Path.Combine(TestPaths.NewDirectory("admin"), "admin_password_hash");
        await File.WriteAllTextAsync(file, hash + "\n", TestContext.Current.CancellationToken);

        var result = await MigrateWithAdminHashAsync(file);

        Assert.True(result.ExitCode == 0, result.Error);
    }

    private async Task<BackendProcess.Result> MigrateWithAdminHashAsync(string hashFile)
    {
        var stack = shared.Stack;
        var environment = BackendProcess.Environment(stack, await stack.CreateDatabaseAsync(), new TestSecrets(stack), "admin_password_hash");
        environment["ADMIN_EMAIL"] = ApiClient.NewEmail("admin");
        environment["ADMIN_PASSWORD_HASH_FILE"] = hashFile;
        return await BackendProcess.RunAsync(environment, null, "migrate");
    }
}
