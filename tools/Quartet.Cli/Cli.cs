using Quartet.Cli.Backups;
using Quartet.Cli.Bench;
using Quartet.Cli.Testing;
using Quartet.Stack;
using Quartet.Stack.Backups;

namespace Quartet.Cli;

/// <summary>The commands, and how they speak: `quartet: ...` lines, errors on standard error.</summary>
internal sealed class Cli(string root)
{
    public string Root { get; } = root;

    public static Cli Create() =>
        new(Environment.GetEnvironmentVariable("QUARTET_ROOT") is { Length: > 0 } root ? root : StackLayout.FindRoot(Directory.GetCurrentDirectory()));

    public void Say(string message) => Console.WriteLine($"quartet: {message}");

    public void Error(string message)
    {
        var lines = message.Split('\n');
        Console.Error.WriteLine($"quartet: error: {lines[0]}");
        foreach (var line in lines.Skip(1))
        {
            Console.Error.WriteLine($"  {line}");
        }
    }

    public NativeStack Native() => new(StackLayout.For(Root), StackSettings.FromEnvironment(), Say)
    {
        SupervisorAssembly = typeof(Cli).Assembly.Location,
    };

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var command = args.Length > 0 ? args[0] : "help";
        var rest = args.Skip(1).ToArray();
        switch (command)
        {
            case "up":
                NoArguments(command, rest);
                await Native().UpAsync(cancellationToken);
                return 0;
            case "down":
                NoArguments(command, rest);
                await Native().DownAsync(cancellationToken);
                return 0;
            case "status":
                NoArguments(command, rest);
                foreach (var line in Native().Status())
                {
                    Console.WriteLine(line);
                }
                return 0;
            case "migrate":
                NoArguments(command, rest);
                await Native().MigrateAsync(cancellationToken);
                return 0;
            case "supervise":
                NoArguments(command, rest);
                // Runs until stopped (SIGTERM from ./quartet down); its lines go to the supervisor's log.
                await new Supervisor(Native(), m => Console.WriteLine($"{DateTimeOffset.UtcNow:O} {m}")) { Schedule = BackupSchedule.FromEnvironment() }
                    .RunAsync(cancellationToken);
                return 0;
            case "logs":
                return await new LogsCommand(this).RunAsync(rest, cancellationToken);
            case "secrets":
                NoArguments(command, rest);
                return await SecretsAsync(cancellationToken);
            case "openapi":
                NoArguments(command, rest);
                return await new TestCommand(this).RefreshOpenApiAsync(cancellationToken);
            case "test":
                return await new TestCommand(this).RunAsync(rest, cancellationToken);
            case "backup":
                return await new BackupCommands(this).BackupAsync(rest, cancellationToken);
            case "backups":
                return await new BackupCommands(this).ListAsync(rest, cancellationToken);
            case "restore":
                return await new BackupCommands(this).RestoreAsync(rest, cancellationToken);
            case "decrypt":
                return await new BackupCommands(this).DecryptAsync(rest, cancellationToken);
            case "drill":
                NoArguments(command, rest);
                await new RestoreDrill(Native(), Say).RunAsync(cancellationToken);
                return 0;
            case "bench":
                return await new BenchCommand(this).RunAsync(rest, cancellationToken);
            default:
                throw new StackException($"unknown command '{command}'; run ./quartet help for the list");
        }
    }

    private async Task<int> SecretsAsync(CancellationToken cancellationToken)
    {
        var stack = Native();
        await stack.PublishAsync(cancellationToken);
        var created = await stack.Secrets.EnsureAsync(cancellationToken);
        Say(created.Count > 0 ? $"created {string.Join(' ', created)}" : "every secret exists already");
        Say($"secrets are in {stack.Layout.SecretsDirectory}");
        return 0;
    }

    private static void NoArguments(string command, string[] rest)
    {
        if (rest.Length > 0)
        {
            throw new StackException($"{command} takes no arguments (got '{rest[0]}')");
        }
    }
}
