namespace Quartet.Api.Tests.Infrastructure.Mail;

/// <summary>The real binary, started in Production with mail settings an operator could get wrong.</summary>
public sealed class MailSettingsTests(SharedStack shared)
{
    [Theory]
    [InlineData("maildev", "1025")]
    [InlineData("maildev", "25")]
    [InlineData("127.0.0.1", "1025")]
    public async Task ProductionRefusesTheDevelopmentMailCatcher(string host, string port)
    {
        var environment = BackendProcess.Environment(shared.Stack, "postgres", new TestSecrets(shared.Stack));
        environment["Mail__SmtpHost"] = host;
        environment["Mail__SmtpPort"] = port;

        var result = await BackendProcess.RunAsync(environment, input: null);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("Invalid configuration: ", line, StringComparison.Ordinal);
        Assert.Contains("development mail catcher", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingMailSettingsStopTheStartNamingThem()
    {
        var line = await BackendProcess.RefusedStartLineAsync(shared.Stack,
            new Dictionary<string, string?> { ["Mail__SmtpHost"] = null, ["Mail__LinkBaseUrl"] = "not a url" });

        Assert.Contains("SmtpHost", line, StringComparison.Ordinal);
        Assert.Contains("LinkBaseUrl", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnSmtpLoginNeedsTheSmtpPasswordSecret()
    {
        var environment = BackendProcess.Environment(shared.Stack, "postgres", new TestSecrets(shared.Stack));
        environment["Mail__Username"] = "quartet";
        environment["SMTP_PASSWORD"] = "a plain variable is not read in Production";

        var result = await BackendProcess.RunAsync(environment, input: null);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("Secret 'smtp_password' is missing", line, StringComparison.Ordinal);
        Assert.DoesNotContain("a plain variable", result.Output + result.Error, StringComparison.Ordinal);
    }
}
