using Microsoft.Extensions.Configuration;
using Quartet.Api.Infrastructure;
using Quartet.Api.Infrastructure.Secrets;

namespace Quartet.Api.Tests.Infrastructure.Secrets;

public sealed class SecretReaderTests
{
    private const string Value = "a-session-secret-of-forty-bytes-0123456789";
    private readonly string _dockerSecrets = TestPaths.NewDirectory("run-secrets");
    private readonly string _files = TestPaths.NewDirectory("files");

    private SecretReader Reader(bool development, params (string Key, string Value)[] settings) =>
        new(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build(),
            development, _dockerSecrets);

    private string WriteFile(string name, string content)
    {
        var path = Path.Combine(_files, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void TheDockerSecretFileWinsOverTheFileVariableAndThePlainVariable()
    {
        File.WriteAllText(Path.Combine(_dockerSecrets, "session_secret"), Value + "-docker");
        var reader = Reader(true, ("SESSION_SECRET_FILE", WriteFile("s", Value + "-file")), ("SESSION_SECRET", Value + "-plain"));

        Assert.Equal(Value + "-docker", reader.Read(SecretSpec.SessionSecret));
    }

    [Fact]
    public void TheFileNamedByTheVariableWinsOverThePlainVariable()
    {
        var reader = Reader(true, ("SESSION_SECRET_FILE", WriteFile("s", Value + "-file")), ("SESSION_SECRET", Value + "-plain"));

        Assert.Equal(Value + "-file", reader.Read(SecretSpec.SessionSecret));
    }

    [Fact]
    public void ThePlainVariableIsReadInDevelopment()
    {
        Assert.Equal(Value, Reader(true, ("SESSION_SECRET", Value)).Read(SecretSpec.SessionSecret));
    }

    [Fact]
    public void ThePlainVariableIsRefusedOutsideDevelopmentWithAMessageSayingWhy()
    {
        var error = Assert.Throws<StartupException>(() => Reader(false, ("SESSION_SECRET", Value)).Read(SecretSpec.SessionSecret));

        Assert.Contains("'session_secret' is missing", error.Message, StringComparison.Ordinal);
        Assert.Contains("SESSION_SECRET variable is read in Development only", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Value, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingSecretNamesItWhereItIsLookedForAndHowToCreateIt()
    {
        var error = Assert.Throws<StartupException>(() => Reader(false).Read(SecretSpec.JwtSecret));

        Assert.Equal(
            $"Secret 'jwt_secret' is missing: put it in {Path.Combine(_dockerSecrets, "jwt_secret")} or a file named by JWT_SECRET_FILE; " +
            "create it with scripts/generate-secrets.sh (production) or ./quartet secrets (development).",
            error.Message);
    }

    [Fact]
    public void AFileVariableNamingNoFileSaysSo()
    {
        var error = Assert.Throws<StartupException>(() =>
            Reader(false, ("DB_PASSWORD_FILE", Path.Combine(_files, "nope"))).Read(SecretSpec.DbPassword));

        Assert.Contains("DB_PASSWORD_FILE names", error.Message, StringComparison.Ordinal);
        Assert.Contains("which does not exist", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("session_secret")]
    [InlineData("jwt_secret")]
    public void AKeyShorterThan32BytesIsRefusedWithoutShowingIt(string name)
    {
        var spec = SecretSpec.All.Single(s => s.Name == name);
        const string Short = "only-31-bytes-long-secret-value";
        var reader = Reader(false, (spec.FileVariableName, WriteFile(name, Short)));

        var error = Assert.Throws<StartupException>(() => reader.Read(spec));

        Assert.Contains($"Secret '{name}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("too short: 31 bytes, at least 32", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Short, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A32ByteKeyIsAccepted()
    {
        var key = new string('k', 32);
        Assert.Equal(key, Reader(false, ("JWT_SECRET_FILE", WriteFile("j", key))).Read(SecretSpec.JwtSecret));
    }

    [Fact]
    public void ATrailingNewlineIsNotPartOfTheSecret()
    {
        Assert.Equal(Value, Reader(false, ("SESSION_SECRET_FILE", WriteFile("s", Value + "\r\n"))).Read(SecretSpec.SessionSecret));
    }

    [Fact]
    public void ProductionRefusesTheDevelopmentDefaultsButDevelopmentTakesThem()
    {
        var devDefault = SecretReader.DevelopmentDefaultPrefix + "session-secret-0123456789abcdef";
        var path = WriteFile("s", devDefault);

        var error = Assert.Throws<StartupException>(() => Reader(false, ("SESSION_SECRET_FILE", path)).Read(SecretSpec.SessionSecret));

        Assert.Contains("development default", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(devDefault, error.Message, StringComparison.Ordinal);
        Assert.Equal(devDefault, Reader(true, ("SESSION_SECRET_FILE", path)).Read(SecretSpec.SessionSecret));
    }

    [Fact]
    public void AnOptionalSecretThatIsAbsentIsNull()
    {
        Assert.Null(Reader(false).ReadOptional(SecretSpec.AdminPasswordHash));
    }
}
