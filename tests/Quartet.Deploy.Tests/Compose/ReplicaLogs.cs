using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// Which backend replica served which request: nginx names every request (X-Request-ID in the
/// answer) and the replica that served it logs that id. Shared by the compose and Swarm replica tests.
/// </summary>
public static class ReplicaLogs
{
    public static string RequestId(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Request-ID", out var values) ? values.Single() : throw new Xunit.Sdk.XunitException("no X-Request-ID in the answer");

    /// <summary>
    /// Writes notes with the user's session and CSRF token, then reads the user's note, each request
    /// answered by whichever replica nginx picks; the request ids of all of them.
    /// </summary>
    public static async Task<List<string>> WriteAndReadAsync(StackUser user, int writes, int reads, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        for (var i = 0; i < writes; i++)
        {
            using var write = await user.Client.PostAsJsonAsync("/api/notes", new { title = $"replica write {i}", body = "", tags = Array.Empty<string>() }, cancellationToken);
            Assert.True(write.StatusCode == HttpStatusCode.Created, $"write {i} with the session and CSRF token: {(int)write.StatusCode} {await write.Content.ReadAsStringAsync(cancellationToken)}");
            ids.Add(RequestId(write));
        }
        for (var i = 0; i < reads; i++)
        {
            using var read = await user.Client.GetAsync($"/api/notes/{user.NoteId}", cancellationToken);
            Assert.True(read.StatusCode == HttpStatusCode.OK, $"read {i} with the session: {(int)read.StatusCode}");
            ids.Add(RequestId(read));
        }
        return ids;
    }

    /// <summary>
    /// How many of <paramref name="ids"/> each replica (by its short id) logged, and the ids none
    /// logged. A replica writes its log line after the answer has left, so the logs are read again
    /// until every id is found, for 20 s at most.
    /// </summary>
    public static async Task<(Dictionary<string, int> Served, List<string> Missing)> WhoServedAsync(IDockerClient engine, IReadOnlyList<string> replicas,
        IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        for (var wait = Stopwatch.StartNew(); ; await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken))
        {
            var logs = await Task.WhenAll(replicas.Select(id => LogAsync(engine, id, cancellationToken)));
            var served = replicas.Zip(logs).ToDictionary(r => r.First[..12], r => ids.Count(id => r.Second.Contains(id, StringComparison.Ordinal)));
            List<string> missing = [.. ids.Where(id => !logs.Any(log => log.Contains(id, StringComparison.Ordinal)))];
            if (missing.Count == 0 || wait.Elapsed > TimeSpan.FromSeconds(20))
            {
                return (served, missing);
            }
        }
    }

    private static async Task<string> LogAsync(IDockerClient engine, string containerId, CancellationToken cancellationToken)
    {
        using var stream = await engine.Containers.GetContainerLogsAsync(containerId, tty: false,
            new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, cancellationToken);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(cancellationToken);
        return stdout + stderr;
    }
}
