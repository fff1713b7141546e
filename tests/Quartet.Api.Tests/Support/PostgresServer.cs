using System.Diagnostics;
using Npgsql;

namespace Quartet.Api.Tests.Support;

/// <summary>
/// A real PostgreSQL server: initdb into a temporary folder, password authentication, loopback only.
/// PostgreSQL refuses to run as root, so as root it runs as the `postgres` system user (setpriv).
/// </summary>
internal sealed class PostgresServer : ServerProcess
{
    public const string Superuser = "quartet";

    private PostgresServer() : base("pg")
    {
        Password = "pg-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
    }

    public string Password { get; }
    private string DataDirectory => Path.Combine(Directory, "data");
    protected override int StopSignal => Native.SigInt; // fast shutdown

    public static async Task<PostgresServer> StartNewAsync()
    {
        var server = new PostgresServer();
        await server.InitAsync();
        await server.StartAsync();
        return server;
    }

    public string ConnectionString(string database, bool pooling = true) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Superuser,
        Password = Password,
        Database = database,
        Pooling = pooling,
        Timeout = 3,
    }.ConnectionString;

    private async Task InitAsync()
    {
        var passwordFile = Path.Combine(Directory, "pwfile");
        await File.WriteAllTextAsync(passwordFile, Password);
        if (Native.IsRoot)
        {
            await Run("chown", "-R", "postgres:postgres", Directory);
        }
        await Run(AsServerUser(Tool("initdb"), "-D", DataDirectory, "-U", Superuser, "--pwfile", passwordFile,
            "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync", "--no-instructions"));
        File.Delete(passwordFile);
    }

    protected override ProcessStartInfo StartInfo() => AsServerUser(Tool("postgres"), "-D", DataDirectory, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-k", Directory, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB",
        // Lets a test count the statements the server received.
        "-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=top");

    protected override async Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString("postgres", pooling: false));
            await connection.OpenAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return false;
        }
    }

    private static ProcessStartInfo AsServerUser(string program, params string[] args)
    {
        var info = new ProcessStartInfo(Native.IsRoot ? "setpriv" : program);
        if (Native.IsRoot)
        {
            foreach (var arg in (string[])["--reuid=postgres", "--regid=postgres", "--clear-groups", "--", program])
            {
                info.ArgumentList.Add(arg);
            }
        }
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return info;
    }

    private static string Tool(string name)
    {
        var bin = Environment.GetEnvironmentVariable("QUARTET_PG_BIN");
        if (string.IsNullOrEmpty(bin))
        {
            bin = System.IO.Directory.Exists("/usr/lib/postgresql")
                ? System.IO.Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                    .Select(d => Path.Combine(d, "bin")).FirstOrDefault(Path.Exists)
                : null;
        }
        var path = bin is null ? null : Path.Combine(bin, name);
        return path is not null && File.Exists(path)
            ? path
            : throw new InvalidOperationException($"PostgreSQL's {name} was not found: install postgresql or set QUARTET_PG_BIN.");
    }

    private static Task Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return Run(info);
    }

    private static async Task Run(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{info.FileName} {string.Join(' ', info.ArgumentList)} failed ({process.ExitCode}): {await output}{await error}");
        }
    }
}
