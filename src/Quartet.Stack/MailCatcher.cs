using System.Globalization;

namespace Quartet.Stack;

/// <summary>
/// The development mail catcher: maildev (deploy/maildev, installed from its lock file with npm ci when
/// it changed), an SMTP server that keeps every mail it receives and shows them in a web inbox with a
/// REST API (<c>/api/email</c>). Both ports are on 127.0.0.1 only. It runs as the caller, like the
/// backend, since it reads its packages from the checkout. Development only: production refuses its
/// settings.
/// </summary>
public sealed class MailCatcher(string packageDirectory, string mailDirectory, int smtpPort, int webPort, string runDirectory, string logDirectory)
    : ServerProcess("maildev", webPort, runDirectory, logDirectory)
{
    public string PackageDirectory { get; } = packageDirectory;
    public string MailDirectory { get; } = mailDirectory;
    public int SmtpPort { get; } = smtpPort;
    public Uri InboxUrl => new($"http://127.0.0.1:{Port}/");

    private string Program => Path.Combine(PackageDirectory, "node_modules", "maildev", "dist", "bin", "maildev.js");

    protected override string CommandLineMarker => "maildev.js";
    protected override string PortAdvice => "set QUARTET_MAIL_PORT to a free port";

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (Ports.InUse(SmtpPort))
        {
            throw new StackException($"port {SmtpPort} is already in use by another process; set QUARTET_MAIL_SMTP_PORT to a free port");
        }
        await InstallAsync(cancellationToken);
        Directory.CreateDirectory(MailDirectory);
        File.SetUnixFileMode(MailDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>`npm ci` unless node_modules matches the lock file already.</summary>
    private async Task InstallAsync(CancellationToken cancellationToken)
    {
        var installed = Path.Combine(PackageDirectory, "node_modules", ".package-lock.json");
        if (File.Exists(installed) && File.Exists(Program)
            && File.GetLastWriteTimeUtc(installed) >= File.GetLastWriteTimeUtc(Path.Combine(PackageDirectory, "package-lock.json")))
        {
            return;
        }
        var npm = Tools.Find(null, "npm", "npm (apt-get install npm)");
        var result = await CommandRunner.RunAsync(new Command(npm, ["ci", "--no-audit", "--no-fund"]) { WorkingDirectory = PackageDirectory }, cancellationToken);
        Directory.CreateDirectory(Path.GetDirectoryName(LogFile)!);
        await File.AppendAllTextAsync(LogFile, $"==== {DateTimeOffset.UtcNow:O} npm ci ====\n{result.Output}{result.Error}", cancellationToken);
        if (!result.Succeeded)
        {
            var tail = string.Join('\n', (result.Output + result.Error).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(15));
            throw new StackException($"npm ci failed in deploy/maildev; see {LogFile}\n{tail}");
        }
    }

    protected override Command StartCommand() => new(Tools.Find(null, "node", "nodejs (apt-get install nodejs)"),
    [
        Program,
        "--smtp", SmtpPort.ToString(CultureInfo.InvariantCulture), "--ip", "127.0.0.1",
        "--web", Port.ToString(CultureInfo.InvariantCulture), "--web-ip", "127.0.0.1",
        "--mail-directory", MailDirectory,
    ])
    {
        WorkingDirectory = PackageDirectory,
    };

    public override Task<bool> AnswersAsync(CancellationToken cancellationToken) =>
        AnswersHttpAsync(new Uri(InboxUrl, "api/healthz"), cancellationToken);
}
