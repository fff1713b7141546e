using System.Globalization;
using Npgsql;

namespace Quartet.Stack;

/// <summary>
/// A PostgreSQL cluster of its own: initdb into <see cref="DataDirectory"/>, password (SCRAM)
/// authentication, TCP on 127.0.0.1 only, no Unix socket (its path would be limited to 107 bytes).
/// As root it runs as the postgres system account, which owns the data folder.
/// </summary>
public sealed class PostgresServer(string dataDirectory, int port, string superuserPassword, string runDirectory, string logDirectory)
    : ServerProcess("postgres", port, runDirectory, logDirectory)
{
    public const string Superuser = "quartet";

    public string DataDirectory { get; } = dataDirectory;
    public string Password { get; } = superuserPassword;

    /// <summary>Server settings (`-c name=value`) beyond the defaults.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Variables the server starts with, which its archive_command and restore_command inherit (the backup
    /// repository's passphrase, when it is encrypted).
    /// </summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// A folder for the server's Unix socket, for tools that reach it no other way (pgBackRest); null for
    /// TCP only. Its path must be short: a socket's full path is limited to 107 bytes.
    /// </summary>
    public string? SocketDirectory { get; init; }

    /// <summary>The cluster's locale: C.UTF-8 (Debian always has it) unless a test needs plain C.</summary>
    public string Locale { get; init; } = "C.UTF-8";

    public bool IsInitialized => File.Exists(Path.Combine(DataDirectory, "PG_VERSION"));

    protected override string CommandLineMarker => "postgres";
    protected override int StopSignal => Native.SigInt; // fast shutdown: ends sessions, checkpoints, exits
    protected override string PortAdvice => "set QUARTET_PG_PORT to a free port";

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

    /// <summary>Creates the cluster unless it exists; the superuser `quartet` gets <see cref="Password"/>.</summary>
    public async Task InitAsync(CancellationToken cancellationToken, bool durable = true)
    {
        if (IsInitialized)
        {
            return;
        }
        var parent = Path.GetDirectoryName(DataDirectory)!;
        if (Directory.Exists(DataDirectory) && Directory.EnumerateFileSystemEntries(DataDirectory).Any())
        {
            throw new StackException($"{DataDirectory} exists but holds no PostgreSQL cluster; move it away and retry");
        }
        await ServiceUsers.EnsureAsync(ServiceUsers.Postgres, cancellationToken);
        Directory.CreateDirectory(parent);
        var passwordFile = Path.Combine(parent, ".pwfile-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(passwordFile, Password, cancellationToken);
        try
        {
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.SetUnixFileMode(parent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await ServiceUsers.GiveAsync(parent, ServiceUsers.Postgres, cancellationToken);
            string[] options = ["-D", DataDirectory, "-U", Superuser, "--pwfile", passwordFile, "--auth", "scram-sha-256",
                "-E", "UTF8", "--locale", Locale, "--no-instructions", .. durable ? Array.Empty<string>() : ["--no-sync"]];
            await CommandRunner.RunCheckedAsync(new Command(Tools.Postgres("initdb"), options) { User = ServiceUsers.For(ServiceUsers.Postgres) },
                cancellationToken, timeout: TimeSpan.FromMinutes(3));
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (SocketDirectory is not null)
        {
            Directory.CreateDirectory(SocketDirectory);
            File.SetUnixFileMode(SocketDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await ServiceUsers.GiveAsync(SocketDirectory, ServiceUsers.Postgres, cancellationToken);
        }
    }

    /// <summary>A short folder of its own for the socket of the cluster in <paramref name="dataDirectory"/>: under /run as root, else the temporary folder.</summary>
    public static string SocketDirectoryFor(string dataDirectory)
    {
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(dataDirectory)))[..12];
        return Native.IsRoot ? Path.Combine("/run/quartet", "pg-" + hash) : Path.Combine(Path.GetTempPath(), "quartet-pg-" + hash);
    }

    /// <summary>True once the server accepts writes: not replaying WAL from a restore any more.</summary>
    public async Task<bool> IsPrimaryAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres", pooling: false));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT NOT pg_is_in_recovery()", connection);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    protected override Command StartCommand()
    {
        var arguments = new List<string>
        {
            "-D", DataDirectory, "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + (SocketDirectory ?? ""),
        };
        foreach (var (name, value) in Settings)
        {
            arguments.Add("-c");
            arguments.Add($"{name}={value}");
        }
        return new Command(Tools.Postgres("postgres"), arguments) { User = ServiceUsers.For(ServiceUsers.Postgres), Environment = Environment };
    }

    public override async Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString("postgres", pooling: false));
            await connection.OpenAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Creates the database, owned by the superuser, unless it exists.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100", Justification = "An identifier, quoted; names come from the stack's own code.")]
    public async Task EnsureDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres", pooling: false));
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = name } } };
        if (await exists.ExecuteScalarAsync(cancellationToken) is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
