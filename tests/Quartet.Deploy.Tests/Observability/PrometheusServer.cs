using System.Globalization;

namespace Quartet.Deploy.Tests.Observability;

/// <summary>
/// Debian's prometheus on a loopback port, scraping one backend's metrics port every second. As root
/// it runs as the prometheus account the package creates, like the other servers run as theirs.
/// </summary>
internal sealed class PrometheusServer(string directory, int port, int metricsPort)
    : ServerProcess("prometheus", port, directory, directory)
{
    private const string Account = "prometheus";
    public const string Job = "quartet-backend";

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    private string ConfigFile => Path.Combine(Path.GetDirectoryName(LogFile)!, "prometheus.yml");
    private string DataDirectory => Path.Combine(Path.GetDirectoryName(LogFile)!, "data");

    protected override string CommandLineMarker => "prometheus";

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await ServiceUsers.EnsureAsync(Account, cancellationToken);
        Directory.CreateDirectory(DataDirectory);
        await ServiceUsers.GiveAsync(DataDirectory, Account, cancellationToken);
        await File.WriteAllTextAsync(ConfigFile, string.Create(CultureInfo.InvariantCulture, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: {Job}
                static_configs:
                  - targets: ["127.0.0.1:{metricsPort}"]
            """), cancellationToken);
    }

    protected override Command StartCommand() => new("prometheus",
    [
        "--config.file=" + ConfigFile,
        "--storage.tsdb.path=" + DataDirectory,
        "--web.listen-address=" + string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}"),
    ])
    {
        User = ServiceUsers.For(Account),
    };

    public override Task<bool> AnswersAsync(CancellationToken cancellationToken) =>
        AnswersHttpAsync(new Uri(BaseAddress, "-/ready"), cancellationToken);
}
