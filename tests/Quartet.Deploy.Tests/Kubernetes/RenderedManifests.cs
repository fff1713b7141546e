using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Quartet.Deploy.Tests.Kubernetes;

/// <summary>
/// Every overlay of deploy/kubernetes rendered once with <c>kubectl kustomize</c> (offline: no cluster),
/// kept as a file for the schema validator and parsed into JSON nodes for the typed checks.
/// </summary>
public sealed class RenderedManifests : IAsyncLifetime
{
    public static readonly string[] Overlays = ["in-cluster-data", "external-data", "production"];

    public static string KubernetesRoot { get; } = Path.Combine(TestPaths.Repository, "deploy", "kubernetes");

    private readonly Dictionary<string, Rendered> _overlays = [];
    private string? _missing;

    public async ValueTask InitializeAsync()
    {
        var kubectl = Tools.OnPath("kubectl");
        if (kubectl is null)
        {
            _missing = "kubectl is not installed (the machine image carries it; Debian 12 packages none), so the manifests cannot be rendered";
            return;
        }
        var folder = TestPaths.NewDirectory("kubernetes");
        foreach (var overlay in Overlays)
        {
            var result = await CommandRunner.RunAsync(new Command(kubectl, ["kustomize", Path.Combine(KubernetesRoot, "overlays", overlay)]),
                TestContext.Current.CancellationToken, timeout: TimeSpan.FromMinutes(2));
            if (!result.Succeeded)
            {
                throw new InvalidOperationException($"kubectl kustomize overlays/{overlay} exited with {result.ExitCode}: {result.Error}");
            }
            var file = Path.Combine(folder, $"{overlay}.yaml");
            await File.WriteAllTextAsync(file, result.Output, TestContext.Current.CancellationToken);
            _overlays[overlay] = new Rendered(overlay, file, Parse(result.Output));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The rendered overlay; skips the test without kubectl, or fails it on CI (CI=true).</summary>
    public Rendered Overlay(string name)
    {
        Require();
        return _overlays[name];
    }

    public IEnumerable<Rendered> All()
    {
        Require();
        return Overlays.Select(o => _overlays[o]);
    }

    public void Require()
    {
        if (_missing is null)
        {
            return;
        }
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail(_missing);
        }
        Assert.Skip(_missing);
    }

    /// <summary>Parses a YAML file (the compose files too) into JSON nodes, one per document.</summary>
    public static List<JsonObject> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => ToJson(d.RootNode)).OfType<JsonObject>()];
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c =>
            KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? "", ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    // Plain scalars keep YAML's types (8080 is a number, true a boolean); quoted ones are strings.
    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style != YamlDotNet.Core.ScalarStyle.Plain)
        {
            return JsonValue.Create(value);
        }
        if (value is "null" or "~" or "")
        {
            return null;
        }
        if (value is "true" or "false")
        {
            return JsonValue.Create(value == "true");
        }
        return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? JsonValue.Create(number)
            : JsonValue.Create(value);
    }
}

/// <summary>One rendered overlay: its file and its objects.</summary>
public sealed record Rendered(string Name, string File, IReadOnlyList<JsonObject> Objects)
{
    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => (string?)o["kind"] == kind);

    public JsonObject? Find(string kind, string name) =>
        OfKind(kind).SingleOrDefault(o => (string?)o["metadata"]!["name"] == name);

    public JsonObject Get(string kind, string name) =>
        Find(kind, name) ?? throw new Xunit.Sdk.XunitException($"overlays/{Name} renders no {kind} named {name}");

    /// <summary>Every workload's pod template, named Kind/name: Deployments, StatefulSets and Jobs.</summary>
    public IEnumerable<(string Workload, JsonObject Template)> PodTemplates() =>
        Objects.Where(o => (string?)o["kind"] is "Deployment" or "StatefulSet" or "Job" or "DaemonSet" or "CronJob")
            .Select(o => ($"{o["kind"]}/{o["metadata"]!["name"]}",
                (string?)o["kind"] == "CronJob" ? o["spec"]!["jobTemplate"]!["spec"]!["template"]!.AsObject() : o["spec"]!["template"]!.AsObject()));

    /// <summary>A ConfigMap by the name it had before kustomize added its content hash.</summary>
    public JsonObject ConfigMap(string name) =>
        OfKind("ConfigMap").SingleOrDefault(o => ((string?)o["metadata"]!["name"])!.StartsWith(name + "-", StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"overlays/{Name} renders no ConfigMap {name}-<hash>");
}
