namespace Quartet.Api.Infrastructure.Commands;

/// <summary>One binary, several commands: the first argument that is not an option picks one.</summary>
internal enum AppCommand
{
    Serve,
    Migrate,
    Healthcheck,
    HashPassword,
    Help,
    Unknown,
}

internal static class AppCommands
{
    public const string Usage = """
        usage: Quartet.Api [command] [--key=value ...]
          serve          run the web service (the default)
          migrate        apply pending database migrations, create or update the first admin, exit
          healthcheck    exit 0 when /health/ready on the local port answers 200 (for container HEALTHCHECK)
          hash-password  read a password on standard input, print its hash (for admin_password_hash)
        """;

    public static AppCommand Parse(IReadOnlyList<string> args)
    {
        var name = args.FirstOrDefault(a => !a.StartsWith('-') && !a.Contains('=', StringComparison.Ordinal));
        return name switch
        {
            null or "serve" => AppCommand.Serve,
            "migrate" => AppCommand.Migrate,
            "healthcheck" => AppCommand.Healthcheck,
            "hash-password" => AppCommand.HashPassword,
            "help" => AppCommand.Help,
            _ => AppCommand.Unknown,
        };
    }
}
