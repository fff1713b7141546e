using Docker.DotNet;

namespace Quartet.StandIns;

public static class Engine
{
    /// <summary>
    /// A client of the Docker engine at DOCKER_HOST, else at the local socket. No API version is
    /// requested: requests then speak the engine's own (Debian's 20.10 answers 1.41), whereas a fixed
    /// one would be refused by engines whose minimum has moved past it.
    /// </summary>
    public static DockerClient Connect()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        // The client owns its configuration and disposes it.
        var configuration = new DockerClientConfiguration(new Uri(string.IsNullOrEmpty(host) ? "unix:///var/run/docker.sock" : host));
        return configuration.CreateClient();
    }
}
