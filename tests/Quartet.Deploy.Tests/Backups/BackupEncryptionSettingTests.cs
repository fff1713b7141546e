using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

[Trait("Category", "Backup")]
public sealed class BackupEncryptionSettingTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("off", false)]
    [InlineData("on", true)]
    [InlineData(" ON ", true)]
    public void OnOrOffIsRead(string? text, bool on) => Assert.Equal(on, BackupEncryption.Parse(text));

    [Theory]
    [InlineData("yes")]
    [InlineData("true")]
    [InlineData("1")]
    [InlineData("aes")]
    public void AnythingElseStopsTheStackWithOneLineNamingTheSetting(string text)
    {
        Environment.SetEnvironmentVariable(BackupEncryption.Setting, text);
        try
        {
            var e = Assert.Throws<StackException>(StackSettings.FromEnvironment);
            Assert.Equal($"QUARTET_BACKUP_ENCRYPTION must be on or off, not '{text}'", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(BackupEncryption.Setting, null);
        }
    }
}
