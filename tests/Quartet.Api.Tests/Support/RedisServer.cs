using System.Diagnostics;

namespace Quartet.Api.Tests.Support;

/// <summary>A real redis-server with a password and append-only persistence, loopback only.</summary>
internal sealed class RedisServer : ServerProcess
{
    private RedisServer() : base("redis")
    {
        Password = "redis-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
    }

    public string Password { get; }
    public string Endpoint => $"127.0.0.1:{Port}";

    private static string ServerProgram =>
        Environment.GetEnvironmentVariable("QUARTET_REDIS_SERVER") is { Length: > 0 } configured ? configured : "redis-server";

    private static string CliProgram
    {
        get
        {
            var beside = Path.Combine(Path.GetDirectoryName(ServerProgram) ?? "", "redis-cli");
            return File.Exists(beside) ? beside : "redis-cli";
        }
    }

    public static async Task<RedisServer> StartNewAsync()
    {
        var server = new RedisServer();
        await server.StartAsync();
        return server;
    }

    protected override ProcessStartInfo StartInfo()
    {
        var info = new ProcessStartInfo(ServerProgram);
        foreach (var arg in (string[])["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--requirepass", Password, "--dir", Directory, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"])
        {
            info.ArgumentList.Add(arg);
        }
        return info;
    }

    /// <summary>Runs one command through redis-cli (the password travels in REDISCLI_AUTH) and returns its output.</summary>
    public async Task<string> CommandAsync(params string[] command)
    {
        var info = new ProcessStartInfo(CliProgram)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["REDISCLI_AUTH"] = Password },
        };
        foreach (var arg in (string[])["-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. command])
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Trim();
    }

    protected override async Task<bool> AnswersAsync(CancellationToken cancellationToken) =>
        await CommandAsync("PING") == "PONG";
}
