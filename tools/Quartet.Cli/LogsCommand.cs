using Quartet.Stack;

namespace Quartet.Cli;

/// <summary>`./quartet logs [SERVICE...] [-f]`: the last 100 lines of each server's log, or follow them.</summary>
internal sealed class LogsCommand(Cli cli)
{
    private static readonly string[] Services = ["nginx", "backend", "postgres", "redis", "redis-cache", "maildev", "supervisor"];

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var follow = false;
        var chosen = new List<string>();
        foreach (var arg in args)
        {
            if (arg is "-f" or "--follow")
            {
                follow = true;
            }
            else if (Services.Contains(arg))
            {
                chosen.Add(arg);
            }
            else
            {
                throw new StackException($"logs: unknown argument '{arg}' (expected nginx, backend, postgres, redis, redis-cache, maildev, supervisor or -f)");
            }
        }
        var stack = cli.Native();
        var files = new List<string>();
        foreach (var service in chosen.Count > 0 ? chosen : [.. Services])
        {
            ServerProcess server = service switch
            {
                "nginx" => stack.Nginx,
                "backend" => stack.Backend,
                "postgres" => stack.Postgres,
                "maildev" => stack.Mail,
                "redis-cache" => stack.RedisCache,
                // Its restarts, and the scheduled backups and drills.
                "supervisor" => new SupervisorProcess(stack.Layout, typeof(Cli).Assembly.Location),
                _ => stack.Redis,
            };
            string[] logs = service == "nginx" ? [server.LogFile, stack.Nginx.AccessLog] : [server.LogFile];
            foreach (var log in logs)
            {
                if (File.Exists(log))
                {
                    files.Add(log);
                }
                else
                {
                    cli.Say($"no {service} log yet ({log})");
                }
            }
        }
        if (files.Count == 0)
        {
            return 0;
        }
        var tail = new Command("tail", ["-n", "100", .. follow ? (string[])["-F"] : [], .. files]);
        if (follow)
        {
            using var process = System.Diagnostics.Process.Start(tail.StartInfo())!;
            await process.WaitForExitAsync(cancellationToken);
            return process.ExitCode;
        }
        var result = await CommandRunner.RunAsync(tail, cancellationToken);
        Console.Write(result.Output);
        return 0;
    }
}
