namespace Quartet.Testing;

/// <summary>
/// The built backend run as its own process (`dotnet Quartet.Api.dll ...`), the way a container or
/// `./quartet up` runs it: for exit codes, standard error and the JSON written to standard output.
/// </summary>
public static class BackendProcess
{
    public static string Assembly { get; } = Path.Combine(AppContext.BaseDirectory, "Quartet.Api.dll");

    /// <summary>The content root holds appsettings.json, as in the published app.</summary>
    public static string ContentRoot { get; } = Path.Combine(TestPaths.Repository, "src", "Quartet.Api");

    /// <summary>The environment for a process pointed at <paramref name="stack"/> and <paramref name="database"/>.</summary>
    public static Dictionary<string, string?> Environment(TestStack stack, string database, TestSecrets secrets, params string[] withoutSecrets)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Database__Host"] = "127.0.0.1",
            ["Database__Port"] = stack.Postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Database__Name"] = database,
            ["Database__Username"] = PostgresServer.Superuser,
            ["Database__OwnerUsername"] = PostgresServer.Superuser,
            ["Database__SuperUsername"] = PostgresServer.Superuser,
            ["Database__StartupTimeoutSeconds"] = "5",
            ["Redis__Endpoint"] = stack.Redis.Endpoint,
            ["Redis__CacheEndpoint"] = stack.RedisCache.Endpoint,
            ["Redis__KeyPrefix"] = $"test:{database}:",
            // Tests write as one user far faster than a person.
            ["WriteLimits__RequestsPerWindow"] = "1000000",
            ["Throttling__RegistrationsPerIp"] = "100000",
        };
        foreach (var (key, value) in stack.Mail.Settings())
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        foreach (var (key, value) in secrets.Settings(withoutSecrets))
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        return environment;
    }

    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>
    /// Starts the backend on <paramref name="stack"/> with the test secrets and <paramref name="changes"/>
    /// (a null value removes a variable), requires it to stop with a non-zero status and exactly one line on
    /// standard error, and returns that line.
    /// </summary>
    public static async Task<string> RefusedStartLineAsync(TestStack stack, IReadOnlyDictionary<string, string?> changes)
    {
        var environment = Environment(stack, "postgres", new TestSecrets(stack));
        foreach (var (name, value) in changes)
        {
            environment[name] = value;
        }
        var result = await RunAsync(environment, input: null);
        Assert.NotEqual(0, result.ExitCode);
        return Assert.Single(result.ErrorLines);
    }

    /// <summary>Runs a command to its end (bounded) and returns what it printed.</summary>
    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string?> environment, string? input, params string[] args)
    {
        var result = await CommandRunner.RunAsync(BackendServer.Run(environment, Assembly, ContentRoot, args), TestContext.Current.CancellationToken,
            input ?? "", TimeSpan.FromSeconds(90));
        return new Result(result.ExitCode, result.Output, result.Error);
    }
}

/// <summary>The backend serving as its own process on a free loopback port, its output in a log file.</summary>
public static class RunningBackend
{
    public static async Task<BackendServer> StartNewAsync(Dictionary<string, string?> environment)
    {
        var directory = TestPaths.NewDirectory("backend");
        var backend = new BackendServer(BackendProcess.Assembly, environment, Ports.Free(), directory, directory)
        {
            ProbePath = "health/live",
            WorkingDirectory = BackendProcess.ContentRoot,
        };
        await backend.StartAsync(TestContext.Current.CancellationToken);
        return backend;
    }
}
