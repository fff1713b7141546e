using System.Diagnostics;

namespace Quartet.Api.Tests.Support;

/// <summary>The backend serving as its own process on a free loopback port, stdout captured.</summary>
internal sealed class RunningBackend : ServerProcess
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Dictionary<string, string?> _environment;

    private RunningBackend(Dictionary<string, string?> environment) : base("backend")
    {
        _environment = new(environment) { ["ASPNETCORE_URLS"] = BaseAddress.ToString() };
    }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");
    public IReadOnlyDictionary<string, string?> Environment => _environment;

    public static async Task<RunningBackend> StartNewAsync(Dictionary<string, string?> environment)
    {
        var backend = new RunningBackend(environment);
        await backend.StartAsync();
        return backend;
    }

    protected override ProcessStartInfo StartInfo() => BackendProcess.StartInfo(_environment);

    protected override async Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(BaseAddress, "health/live"), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
