using System.Net;
using System.Net.Http.Json;

namespace Quartet.Api.Tests.Features.AccountMail;

/// <summary>The account-mail calls the tests make, and what they read back from the database.</summary>
internal static class AccountMailClient
{
    public const string NewPassword = "a brand new passphrase";
    public const string ResetSubject = "Reset your Quartet password";
    public const string VerifySubject = "Confirm your email address for Quartet";

    public static Task<HttpResponseMessage> RequestResetAsync(this HttpClient client, string email) =>
        client.PostAsJsonAsync("/api/auth/password-reset", new { email });

    public static Task<HttpResponseMessage> ConfirmResetAsync(this HttpClient client, string? token, string? newPassword = NewPassword) =>
        client.PostAsJsonAsync("/api/auth/password-reset/confirm", new { token, newPassword });

    public static Task<HttpResponseMessage> VerifyEmailAsync(this HttpClient client, string? token) =>
        client.PostAsJsonAsync("/api/auth/verify-email", new { token });

    /// <summary>Asks for a reset of <paramref name="email"/> and returns the token from the mail it receives (the <paramref name="nth"/> one).</summary>
    public static async Task<string> ResetTokenAsync(this HttpClient client, TestStack stack, string email, int nth = 1)
    {
        using var response = await client.RequestResetAsync(email);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return SmtpSink.TokenIn(await stack.Mail.WaitForAsync(email, nth, ResetSubject));
    }

    public static Task<HttpResponseMessage> LoginResponseAsync(this HttpClient client, string email, string password) =>
        client.PostAsJsonAsync("/api/auth/login", new { email, password });

    /// <summary>The outbox rows for an address, oldest first, once none is pending (the worker has dealt with them).</summary>
    public static async Task<(string Status, string? Error)[]> SettledOutboxAsync(QuartetFactory factory, string recipient, int count = 1)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var rows = await OutboxAsync(factory, recipient);
            if (rows.Length >= count && rows.All(r => r.Status != "pending"))
            {
                return rows;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the outbox rows for {recipient} did not settle: {string.Join(", ", rows)}");
            await Task.Delay(50);
        }
    }

    public static async Task<(string Status, string? Error)[]> OutboxAsync(QuartetFactory factory, string recipient)
    {
        await using var connection = new Npgsql.NpgsqlConnection(factory.Stack.Postgres.ConnectionString(factory.Database, pooling: false));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT status, last_error FROM mail_outbox WHERE recipient = @r ORDER BY id", connection);
        command.Parameters.AddWithValue("r", recipient);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, string?)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
        }
        return [.. rows];
    }

    public static Task<long> CountAsync(QuartetFactory factory, string sql) =>
        factory.Stack.ScalarAsync<long>(factory.Database, sql);

    public static Task ExecuteAsync(QuartetFactory factory, string sql) => factory.Stack.ExecuteAsync(factory.Database, sql);
}
