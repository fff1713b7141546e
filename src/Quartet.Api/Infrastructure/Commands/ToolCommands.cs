namespace Quartet.Api.Infrastructure.Commands;

internal static class ToolCommands
{
    /// <summary>The commands that need no database, no Redis and no secrets.</summary>
    public static Task<int> RunAsync(AppCommand command, string[] args)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build();
        switch (command)
        {
            case AppCommand.Healthcheck:
                return HealthcheckCommand.RunAsync(configuration, Console.Error, CancellationToken.None);
            case AppCommand.HashPassword:
                return HashPasswordCommand.RunAsync(configuration, Console.In, Console.Out, Console.Error, CancellationToken.None);
            case AppCommand.Help:
                Console.Out.WriteLine(AppCommands.Usage);
                return Task.FromResult(0);
            default:
                Console.Error.WriteLine($"Unknown command '{string.Join(' ', args)}'.");
                Console.Error.WriteLine(AppCommands.Usage);
                return Task.FromResult(2);
        }
    }
}
