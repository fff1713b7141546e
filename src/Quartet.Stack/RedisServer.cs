using System.Globalization;
using System.Text;

namespace Quartet.Stack;

/// <summary>
/// A redis-server with a password and append-only persistence (fsync every second), on 127.0.0.1
/// only. Its settings are written to a config file readable by the server alone, so the password
/// never shows in a process listing. As root it runs as the redis system account.
/// </summary>
public sealed class RedisServer(string dataDirectory, int port, string password, string runDirectory, string logDirectory)
    : ServerProcess("redis", port, runDirectory, logDirectory)
{
    public string DataDirectory { get; } = dataDirectory;
    public string Password { get; } = password;
    public string Endpoint => $"127.0.0.1:{Port}";

    protected override string CommandLineMarker => "redis-server";
    protected override string PortAdvice => "set QUARTET_REDIS_PORT to a free port";
    private string ConfigFile => Path.Combine(DataDirectory, "redis.conf");

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await ServiceUsers.EnsureAsync(ServiceUsers.Redis, cancellationToken);
        Directory.CreateDirectory(DataDirectory);
        File.SetUnixFileMode(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var config = new StringBuilder()
            .AppendLine("# Written at every start; edits are lost.")
            .AppendLine("bind 127.0.0.1")
            .AppendLine(CultureInfo.InvariantCulture, $"port {Port}")
            .AppendLine("protected-mode yes")
            .AppendLine("daemonize no")
            .AppendLine("logfile \"\"")
            .AppendLine(CultureInfo.InvariantCulture, $"dir {Quote(DataDirectory)}")
            .AppendLine(CultureInfo.InvariantCulture, $"requirepass {Quote(Password)}")
            .AppendLine("save \"\"")
            .AppendLine("appendonly yes")
            .AppendLine("appendfsync everysec")
            .ToString();
        await File.WriteAllTextAsync(ConfigFile, config, cancellationToken);
        File.SetUnixFileMode(ConfigFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await ServiceUsers.GiveAsync(DataDirectory, ServiceUsers.Redis, cancellationToken);
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    protected override Command StartCommand() =>
        new(Tools.RedisServer(), [ConfigFile]) { User = ServiceUsers.For(ServiceUsers.Redis) };

    public override async Task<bool> AnswersAsync(CancellationToken cancellationToken) =>
        await CommandAsync(cancellationToken, "PING") == "PONG";

    /// <summary>Runs one command through redis-cli (the password travels in REDISCLI_AUTH) and returns its output.</summary>
    public async Task<string> CommandAsync(CancellationToken cancellationToken, params string[] command)
    {
        var cli = new Command(Tools.RedisCli(), ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), .. command])
        {
            Environment = new Dictionary<string, string?> { ["REDISCLI_AUTH"] = Password },
        };
        var result = await CommandRunner.RunAsync(cli, cancellationToken, timeout: TimeSpan.FromSeconds(30));
        return result.Output.Trim();
    }

    public Task<string> CommandAsync(params string[] command) => CommandAsync(CancellationToken.None, command);

    protected override int StopSignal => Native.SigTerm; // Redis flushes the AOF and exits
}
