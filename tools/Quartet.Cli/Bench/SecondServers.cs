using Quartet.Stack;

namespace Quartet.Cli.Bench;

/// <summary>The servers the benchmark starts beside the stack: the Node.js service, backend B, and an nginx in front of each.</summary>
internal static class SecondServers
{
    /// <summary>
    /// An nginx rendered from the stack's template, not yet started, on a free port in front of
    /// 127.0.0.1:<paramref name="backendPort"/>, so both sides of a comparison pay for the same proxy.
    /// Its files are in folder/nginx-NAME, its pid and log in folder/NAME.
    /// </summary>
    public static NginxServer Nginx(NativeStack stack, string folder, string name, int backendPort)
    {
        var own = Path.Combine(folder, name);
        return new NginxServer(Path.Combine(folder, $"nginx-{name}"), Ports.Free(), $"127.0.0.1:{backendPort}", stack.Layout.NginxTemplate, own, own)
        {
            // Its web root stays empty: the benchmark asks for the API only.
            ProbePath = "health/live",
        };
    }

    /// <summary>Starts one and waits until it answers; a failure says which server it was.</summary>
    public static async Task StartAsync(ServerProcess server, string what, CancellationToken cancellationToken)
    {
        try
        {
            await server.StartAsync(cancellationToken);
        }
        catch (StackException e)
        {
            throw new StackException($"bench: {what} did not start: {e.Message}");
        }
    }
}
