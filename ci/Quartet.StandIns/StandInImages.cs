namespace Quartet.StandIns;

/// <summary>The stand-ins for the official images compose.yaml starts from, as image references.</summary>
public sealed record StandInImages(string Postgres, string Redis, string Nginx, string DotnetSdk, string DotnetRuntime, string Node, string Debian)
{
    /// <summary>The variables compose.yaml reads the images from.</summary>
    public IReadOnlyDictionary<string, string> Variables => new Dictionary<string, string>
    {
        ["QUARTET_POSTGRES_IMAGE"] = Postgres,
        ["QUARTET_REDIS_IMAGE"] = Redis,
        ["QUARTET_NGINX_IMAGE"] = Nginx,
        ["QUARTET_DOTNET_SDK_IMAGE"] = DotnetSdk,
        ["QUARTET_DOTNET_RUNTIME_IMAGE"] = DotnetRuntime,
        ["QUARTET_NODE_IMAGE"] = Node,
        // debian:bookworm-slim: the ACME client's image (compose.tls.yaml) starts from it.
        ["QUARTET_DEBIAN_IMAGE"] = Debian,
    };

    public IEnumerable<string> All => [Postgres, Redis, Nginx, DotnetSdk, DotnetRuntime, Node, Debian];
}
