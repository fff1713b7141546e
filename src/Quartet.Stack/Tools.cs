namespace Quartet.Stack;

/// <summary>Where the servers' programs are on this machine (Debian's packages by default).</summary>
public static class Tools
{
    /// <summary>The newest PostgreSQL server bin folder (holding initdb); QUARTET_PG_BIN wins.</summary>
    public static string PostgresBin()
    {
        var configured = Environment.GetEnvironmentVariable("QUARTET_PG_BIN");
        if (!string.IsNullOrEmpty(configured) && File.Exists(Path.Combine(configured, "initdb")))
        {
            return configured;
        }
        var found = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var version) ? version : 0)
                .Select(d => Path.Combine(d, "bin"))
                .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            : null;
        return found ?? throw new StackException("PostgreSQL's initdb was not found: install postgresql (apt-get install postgresql) or set QUARTET_PG_BIN");
    }

    public static string Postgres(string name) => Path.Combine(PostgresBin(), name);

    public static string RedisServer() => Find("QUARTET_REDIS_SERVER", "redis-server", "redis-server (apt-get install redis-server)");

    public static string RedisCli()
    {
        var beside = Path.Combine(Path.GetDirectoryName(RedisServer()) ?? "", "redis-cli");
        return File.Exists(beside) ? beside : Find(null, "redis-cli", "redis-cli (apt-get install redis-tools)");
    }

    public static string Nginx() => Find("QUARTET_NGINX", "nginx", "nginx (apt-get install nginx-light)");

    /// <summary>A program from the variable, else from PATH; a clear error names the package otherwise.</summary>
    public static string Find(string? variable, string program, string install)
    {
        if (variable is not null && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } configured)
        {
            return configured;
        }
        return OnPath(program) ?? throw new StackException($"{program} was not found: install {install}");
    }

    public static string? OnPath(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"]))
        {
            var path = Path.Combine(dir, program);
            if (File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }
}
