using System.Diagnostics;

namespace Quartet.Api.Tests.Support;

/// <summary>
/// The built backend run as its own process (`dotnet Quartet.Api.dll ...`), the way a container or
/// `./quartet up` runs it: for exit codes, standard error and the JSON written to standard output.
/// </summary>
internal static class BackendProcess
{
    public static string Assembly { get; } = Path.Combine(AppContext.BaseDirectory, "Quartet.Api.dll");

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
            ["Database__StartupTimeoutSeconds"] = "5",
            ["Redis__Endpoint"] = stack.Redis.Endpoint,
            ["Redis__KeyPrefix"] = $"test:{database}:",
        };
        foreach (var (key, value) in secrets.Settings(withoutSecrets))
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        return environment;
    }

    public static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The content root holds appsettings.json, as in the published app.
        info.WorkingDirectory = Path.Combine(TestPaths.Repository, "src", "Quartet.Api");
        info.ArgumentList.Add(Assembly);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        // Nothing of the test host's own environment leaks in (no ASPNETCORE_*, no secrets).
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        return info;
    }

    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Runs a command to its end (bounded) and returns what it printed.</summary>
    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string?> environment, string? input, params string[] args)
    {
        using var process = Process.Start(StartInfo(environment, args))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"Quartet.Api {string.Join(' ', args)} did not end within 90 s: {await output}{await error}");
        }
        return new Result(process.ExitCode, await output, await error);
    }
}
