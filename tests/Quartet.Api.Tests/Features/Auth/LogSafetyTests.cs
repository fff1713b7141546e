using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.Auth;

public sealed class LogSafetyTests(SharedStack shared)
{
    [Fact]
    public async Task NoPasswordTokenCookieOrSecretEverReachesTheLogs()
    {
        var stack = shared.Stack;
        var secrets = new TestSecrets(stack);
        await using var backend = await RunningBackend.StartNewAsync(BackendProcess.Environment(stack, await stack.CreateDatabaseAsync(), secrets));
        using var client = new HttpClient { BaseAddress = backend.BaseAddress };
        var email = ApiClient.NewEmail();
        const string Password = "a password that must stay secret";

        await client.PostAsJsonAsync("/api/auth/register", new { email, password = Password });
        await client.PostAsJsonAsync("/api/auth/login", new { email, password = "a wrong password to log" });
        using var login = await client.PostAsJsonAsync("/api/auth/token", new { email, password = Password });
        using var body = await login.JsonAsync();
        var access = body.RootElement.GetProperty("accessToken").GetString()!;
        var refresh = body.RootElement.GetProperty("refreshToken").GetString()!;
        await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh });
        await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh }); // reuse, audited
        await backend.StopAsync(TestContext.Current.CancellationToken);

        var logs = backend.Output;
        Assert.Contains("login.failed", logs, StringComparison.Ordinal);
        Assert.Contains("refresh.reused", logs, StringComparison.Ordinal);
        foreach (var secret in secrets.Values.Values.Concat([Password, "a wrong password to log", access, refresh, access.Split('.')[2]]))
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }
}
