namespace Quartet.Stack;

/// <summary>
/// The backend serving as its own process (`dotnet Quartet.Api.dll`), the way a container runs it.
/// It runs as the caller: it holds no privilege a container would not, and it reads the secret files.
/// </summary>
public sealed class BackendServer : ServerProcess
{
    private readonly string _assembly;
    private readonly Dictionary<string, string?> _environment;

    public BackendServer(string assembly, IReadOnlyDictionary<string, string?> environment, int port, string runDirectory, string logDirectory,
        string name = "backend")
        : base(name, port, runDirectory, logDirectory)
    {
        _assembly = assembly;
        _environment = new(environment) { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" };
    }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");
    public IReadOnlyDictionary<string, string?> Environment => _environment;

    /// <summary>Where readiness is asked: /health/ready (schema current, dependencies up) unless a test wants less.</summary>
    public string ProbePath { get; init; } = "health/ready";

    /// <summary>The content root (appsettings.json); the assembly's folder unless set.</summary>
    public string? WorkingDirectory { get; init; }

    protected override string CommandLineMarker => Path.GetFileName(_assembly);
    protected override string PortAdvice => "set QUARTET_BACKEND_PORT to a free port";

    protected override Command StartCommand() => Run(_environment, _assembly, WorkingDirectory);

    /// <summary>
    /// `dotnet Quartet.Api.dll args`, with the given environment and none of the caller's ASP.NET
    /// Core variables (a test host's or a shell's would otherwise leak in).
    /// </summary>
    public static Command Run(IReadOnlyDictionary<string, string?> environment, string assembly, string? workingDirectory, params string[] arguments)
    {
        var variables = new Dictionary<string, string?>();
        foreach (var key in System.Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal)))
        {
            variables[key] = null;
        }
        foreach (var (key, value) in environment)
        {
            variables[key] = value;
        }
        return new Command("dotnet", [assembly, .. arguments])
        {
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(assembly),
            Environment = variables,
        };
    }

    public override Task<bool> AnswersAsync(CancellationToken cancellationToken) =>
        AnswersHttpAsync(new Uri(BaseAddress, ProbePath), cancellationToken);
}
