using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Quartet.Api.Infrastructure.Passwords;

namespace Quartet.Api.Tests.Infrastructure.Commands;

public sealed class CommandTests(SharedStack shared)
{
    private static readonly Dictionary<string, string?> NoSettings = new() { ["ASPNETCORE_ENVIRONMENT"] = "Production" };

    [Fact]
    public async Task HashPasswordPrintsAPbkdf2Sha512HashWith210000IterationsThatVerifies()
    {
        var result = await BackendProcess.RunAsync(NoSettings, "correct horse battery staple\n", "hash-password");

        Assert.Equal(0, result.ExitCode);
        var hash = result.Output.Trim();
        Assert.True(PasswordHashing.IsHash(hash));
        var bytes = Convert.FromBase64String(hash);
        Assert.Equal(0x01, bytes[0]);                                                     // format v3
        Assert.Equal(2u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1)));      // HMAC-SHA512
        Assert.Equal(210_000u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(5))); // iterations
        using var hashing = new PasswordHashing(Options.Create(new PasswordHashingOptions()));
        Assert.Equal(PasswordVerificationResult.Success, await hashing.VerifyAsync(hash, "correct horse battery staple", CancellationToken.None));
        Assert.Equal(PasswordVerificationResult.Failed, await hashing.VerifyAsync(hash, "correct horse battery stapler", CancellationToken.None));
        Assert.DoesNotContain("correct horse", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("short\n")]
    public async Task HashPasswordRefusesNoPasswordOrATooShortOne(string input)
    {
        var result = await BackendProcess.RunAsync(NoSettings, input, "hash-password");

        Assert.Equal(2, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task HealthcheckExitsZeroWhenReadyAndNonZeroWhenNothingAnswers()
    {
        var stack = shared.Stack;
        await using var backend = await RunningBackend.StartNewAsync(
            BackendProcess.Environment(stack, await stack.CreateDatabaseAsync(), new TestSecrets(stack)));

        var ready = await BackendProcess.RunAsync(backend.Environment, null, "healthcheck");
        await backend.StopAsync(TestContext.Current.CancellationToken);
        var stopped = await BackendProcess.RunAsync(backend.Environment, null, "healthcheck");

        Assert.Equal(0, ready.ExitCode);
        Assert.Equal(1, stopped.ExitCode);
        Assert.Contains("/health/ready did not answer", Assert.Single(stopped.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthcheckExitsNonZeroWhenReadinessIs503()
    {
        var stack = shared.Stack;
        // A database with no schema: the service runs, readiness reports pending migrations.
        await using var backend = await RunningBackend.StartNewAsync(
            BackendProcess.Environment(stack, await stack.CreateDatabaseAsync(migrated: false), new TestSecrets(stack)));

        var result = await BackendProcess.RunAsync(backend.Environment, null, "healthcheck");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("answered 503", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownCommandExits2WithTheUsage()
    {
        var result = await BackendProcess.RunAsync(NoSettings, null, "frobnicate");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unknown command 'frobnicate'", result.Error, StringComparison.Ordinal);
        Assert.Contains("hash-password", result.Error, StringComparison.Ordinal);
    }
}
