using System.Text.Json.Nodes;

namespace Quartet.Deploy.Tests.Kubernetes;

/// <summary>
/// deploy/kubernetes, rendered with <c>kubectl kustomize</c> and checked offline: every object against the
/// Kubernetes API's JSON schema (deploy/kubernetes/validate), then what compose promises, object by
/// object. No cluster runs here: this proves the manifests are well formed and say what compose says,
/// not that they run.
/// </summary>
[Trait("Category", "Kubernetes")]
public sealed class KubernetesTests(RenderedManifests manifests) : IClassFixture<RenderedManifests>
{
    private static readonly string[] DataServers = ["postgres", "redis", "redis-cache"];

    public static TheoryData<string> Overlays => [.. RenderedManifests.Overlays];

    [Fact]
    public async Task EveryRenderedObjectIsValidAgainstTheKubernetesSchema()
    {
        var files = manifests.All().Select(o => o.File).ToArray();
        var validator = await KubernetesValidator.PrepareAsync(TestContext.Current.CancellationToken);

        var result = await validator.ValidateAsync(files, TestContext.Current.CancellationToken);

        Assert.True(result.Succeeded, $"node validate.mjs exited with {result.ExitCode}:\n{result.Error}\n{result.Output}");
        foreach (var overlay in manifests.All())
        {
            Assert.Contains($"{overlay.File}: {overlay.Objects.Count} of {overlay.Objects.Count} objects valid", result.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TheSchemaValidatorRefusesAnObjectTheApiServerWouldRefuse()
    {
        manifests.Require();
        var validator = await KubernetesValidator.PrepareAsync(TestContext.Current.CancellationToken);
        var broken = Path.Combine(TestPaths.NewDirectory("kubernetes-broken"), "broken.yaml");
        var text = await File.ReadAllTextAsync(manifests.Overlay("production").File, TestContext.Current.CancellationToken);
        // A port by a name where a number must be, and a kind the API does not have.
        text = text.Replace("containerPort: 9464", "containerPort: metrics", StringComparison.Ordinal)
            .Replace("kind: PodDisruptionBudget", "kind: PodDisruptionBuget", StringComparison.Ordinal);
        await File.WriteAllTextAsync(broken, text, TestContext.Current.CancellationToken);

        var result = await validator.ValidateAsync([broken], TestContext.Current.CancellationToken);

        Assert.False(result.Succeeded);
        Assert.Contains("Deployment/backend (apps/v1): data/spec/template/spec/containers/0/ports/1/containerPort must be integer", result.Error, StringComparison.Ordinal);
        Assert.Contains("PodDisruptionBuget/backend: no schema for apiVersion policy/v1 kind PodDisruptionBuget", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void EveryObjectIsInTheQuartetNamespaceWhichEnforcesTheRestrictedPodSecurityStandard(string name)
    {
        var overlay = manifests.Overlay(name);

        var namespaced = overlay.Objects.Where(o => (string?)o["kind"] != "Namespace").ToList();
        Assert.NotEmpty(namespaced);
        Assert.All(namespaced, o => Assert.Equal("quartet", (string?)o["metadata"]!["namespace"]));
        var labels = overlay.Get("Namespace", "quartet")["metadata"]!["labels"]!;
        Assert.Equal("restricted", (string?)labels["pod-security.kubernetes.io/enforce"]);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void EveryContainerRunsAsNonRootOnAReadOnlyRootWithoutCapabilitiesAndWithLimits(string name)
    {
        var templates = manifests.Overlay(name).PodTemplates().ToList();

        Assert.NotEmpty(templates);
        foreach (var (workload, template) in templates)
        {
            var pod = template["spec"]!;
            Assert.True((bool?)pod["securityContext"]?["runAsNonRoot"] == true, $"{workload}: runAsNonRoot");
            Assert.True((long?)pod["securityContext"]?["runAsUser"] > 0, $"{workload}: runAsUser is not root");
            Assert.True((string?)pod["securityContext"]?["seccompProfile"]?["type"] == "RuntimeDefault", $"{workload}: seccomp RuntimeDefault");
            Assert.True((bool?)pod["automountServiceAccountToken"] == false, $"{workload}: no service account token");
            Assert.Null(pod["hostNetwork"]);
            Assert.Null(pod["hostPID"]);
            // The volume types the restricted Pod Security Standard admits (hostPath is not one).
            Assert.All(pod["volumes"]?.AsArray() ?? [], v => Assert.True(
                v!.AsObject().Any(p => p.Key is "configMap" or "secret" or "emptyDir" or "persistentVolumeClaim" or "projected"),
                $"{workload}: volume {v["name"]} is of a type the namespace refuses"));
            foreach (var container in Containers(pod))
            {
                var where = $"{workload} container {container["name"]}";
                var security = container["securityContext"];
                Assert.True((bool?)security?["readOnlyRootFilesystem"] == true, $"{where}: readOnlyRootFilesystem");
                Assert.True((bool?)security?["allowPrivilegeEscalation"] == false, $"{where}: allowPrivilegeEscalation false");
                Assert.True(security?["capabilities"]?["drop"]?.AsArray().Any(c => (string?)c == "ALL") == true, $"{where}: drops ALL capabilities");
                Assert.Null(security?["capabilities"]?["add"]);
                Assert.Null(security?["privileged"]);
                foreach (var kind in (string[])["requests", "limits"])
                {
                    Assert.True(container["resources"]?[kind]?["cpu"] is not null && container["resources"]?[kind]?["memory"] is not null,
                        $"{where}: cpu and memory {kind}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void TheBackendIsReadyOnHealthReadyAndAliveOnHealthLiveAskedAsLocalhost(string name)
    {
        var overlay = manifests.Overlay(name);
        var backend = Containers(overlay.Get("Deployment", "backend")["spec"]!["template"]!["spec"]!).Single();

        Assert.Equal("/health/ready", (string?)backend["readinessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/health/live", (string?)backend["livenessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/health/live", (string?)backend["startupProbe"]!["httpGet"]!["path"]);
        foreach (var probe in (string[])["readinessProbe", "livenessProbe", "startupProbe"])
        {
            var get = backend[probe]!["httpGet"]!;
            Assert.Equal("http", (string?)get["port"]);
            // The backend answers 421 to a Host outside AllowedHosts; the kubelet would send the pod's address.
            var host = Assert.Single(get["httpHeaders"]!.AsArray(), h => (string?)h!["name"] == "Host");
            Assert.Equal("localhost", (string?)host!["value"]);
        }
        Assert.Contains(" localhost ", $" {Env(backend, "AllowedHosts")} ", StringComparison.Ordinal);
        // $(QUARTET_SERVER_NAMES) is expanded only from a variable defined above it in the list.
        var names = backend["env"]!.AsArray().Select(e => (string?)e!["name"]).ToList();
        Assert.StartsWith("$(QUARTET_SERVER_NAMES) ", Env(backend, "AllowedHosts"), StringComparison.Ordinal);
        Assert.True(names.IndexOf("QUARTET_SERVER_NAMES") is >= 0 and var at && at < names.IndexOf("AllowedHosts"),
            "QUARTET_SERVER_NAMES is defined before AllowedHosts");
        var port = Assert.Single(backend["ports"]!.AsArray(), p => (string?)p!["name"] == "http");
        Assert.Equal(8080, (long?)port!["containerPort"]);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void TheDisruptionBudgetAndTheAutoscalerSelectTheBackendWhoseReplicasTheAutoscalerOwns(string name)
    {
        var overlay = manifests.Overlay(name);
        var deployment = overlay.Get("Deployment", "backend");
        var podLabels = deployment["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();

        var budget = overlay.Get("PodDisruptionBudget", "backend");
        var selector = budget["spec"]!["selector"]!["matchLabels"]!.AsObject();
        Assert.NotEmpty(selector);
        Assert.All(selector, l => Assert.Equal((string?)l.Value, (string?)podLabels[l.Key]));
        Assert.Contains("backend", selector.Select(l => (string?)l.Value));
        Assert.Equal(1, (long?)budget["spec"]!["maxUnavailable"]);

        var autoscaler = overlay.Get("HorizontalPodAutoscaler", "backend")["spec"]!;
        Assert.Equal("Deployment", (string?)autoscaler["scaleTargetRef"]!["kind"]);
        Assert.Equal("backend", (string?)autoscaler["scaleTargetRef"]!["name"]);
        Assert.True((long?)autoscaler["minReplicas"] >= 2, "at least two backends, so one survives a node");
        Assert.Null(deployment["spec"]!["replicas"]);
        Assert.Equal(0, (long?)deployment["spec"]!["strategy"]!["rollingUpdate"]!["maxUnavailable"]);
    }

    /// <summary>
    /// Every backend pool the autoscaler may run, one more pod's during a rollout and 10 spare fit in the
    /// in-cluster PostgreSQL's connections; past them it refuses connections and requests fail with 503.
    /// </summary>
    [Theory]
    [MemberData(nameof(Overlays))]
    public void TheBackendPodsPoolsFitInPostgresConnections(string name)
    {
        var overlay = manifests.Overlay(name);
        var deployment = overlay.Get("Deployment", "backend");
        var pool = long.Parse(Env(Containers(deployment["spec"]!["template"]!["spec"]!).Single(), "Database__MaxPoolSize")
            ?? throw new Xunit.Sdk.XunitException("the backend sets no Database__MaxPoolSize: the process default of 50 per pod"), System.Globalization.CultureInfo.InvariantCulture);
        var pods = (long)overlay.Get("HorizontalPodAutoscaler", "backend")["spec"]!["maxReplicas"]! + (long)deployment["spec"]!["strategy"]!["rollingUpdate"]!["maxSurge"]!;
        if (overlay.OfKind("StatefulSet").FirstOrDefault(s => (string?)s["metadata"]!["name"] == "postgres") is not { } postgres)
        {
            Assert.True(pods * pool + 10 <= 140, $"{name}: {pods} pods x {pool} connections need more than the 140 docs/operations.md asks of an external server");
            return;
        }
        var args = (Containers(postgres["spec"]!["template"]!["spec"]!).Single()["args"]?.AsArray() ?? []).Select(a => (string?)a).ToList();
        var setting = args.FirstOrDefault(a => a?.StartsWith("max_connections=", StringComparison.Ordinal) == true);
        var max = setting is null ? 100 : long.Parse(setting["max_connections=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(pods * pool + 10 <= max, $"{name}: {pods} pods x {pool} connections + 10 exceed the in-cluster PostgreSQL's {max}");
    }

    [Fact]
    public void TheProductionOverlayScalesFurtherAndExposesOnlyNginx()
    {
        var overlay = manifests.Overlay("production");

        Assert.Equal(3, (long?)overlay.Get("HorizontalPodAutoscaler", "backend")["spec"]!["minReplicas"]);
        var exposed = overlay.OfKind("Service").Where(s => (string?)s["spec"]!["type"] is "LoadBalancer" or "NodePort").ToList();
        Assert.Equal("nginx", (string?)Assert.Single(exposed)["metadata"]!["name"]);
        Assert.Empty(overlay.OfKind("StatefulSet"));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void NoServiceButNginxIsExposedOutsideTheCluster(string name)
    {
        var exposed = manifests.Overlay(name).OfKind("Service")
            .Where(s => (string?)s["spec"]!["type"] is "LoadBalancer" or "NodePort")
            .Select(s => (string?)s["metadata"]!["name"]);

        Assert.All(exposed, s => Assert.Equal("nginx", s));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void EachWorkloadMountsExactlyTheSecretsComposeGivesItAtTheSamePaths(string name)
    {
        var overlay = manifests.Overlay(name);
        var compose = ComposeSecrets();

        var checkedWorkloads = 0;
        foreach (var (workload, template) in overlay.PodTemplates())
        {
            var service = workload.Split('/')[1];
            var pod = template["spec"]!;
            var container = Containers(pod).Single();
            var mount = container["volumeMounts"]?.AsArray().SingleOrDefault(m => (string?)m!["mountPath"] == "/run/secrets");
            if (!compose.TryGetValue(service, out var expected))
            {
                Assert.True(mount is null, $"{workload} mounts secrets that compose gives no service of its name");
                continue;
            }
            Assert.True(mount is not null, $"{workload} mounts no secrets at /run/secrets");
            Assert.True((bool?)mount!["readOnly"] == true, $"{workload}: the secrets are mounted read-only");
            var volume = pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == (string?)mount["name"])!;
            var items = volume["secret"]!["items"]!.AsArray();
            Assert.Equal("quartet-secrets", (string?)volume["secret"]!["secretName"]);
            // Each file at /run/secrets/<name>, as Docker secrets are, and readable by the pod's group only.
            Assert.All(items, i => Assert.Equal((string?)i!["key"], (string?)i["path"]));
            Assert.Equal(expected.Order(), items.Select(i => (string)i!["key"]!).Order());
            Assert.Equal(0x120, (long?)volume["secret"]!["defaultMode"]);
            checkedWorkloads++;
        }
        Assert.True(checkedWorkloads >= 2, "the backend and the migration at least");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void TheBackendAndMigrationGetComposesDatabaseAndRedisSettings(string name)
    {
        var overlay = manifests.Overlay(name);
        var compose = RenderedManifests.Parse(File.ReadAllText(Path.Combine(TestPaths.Repository, "compose.yaml"))).Single();
        var environment = compose["x-backend-environment"]!.AsObject();

        var backend = Containers(overlay.Get("Deployment", "backend")["spec"]!["template"]!["spec"]!).Single();
        var migrate = Containers(overlay.Get("Job", "migrate")["spec"]!["template"]!["spec"]!).Single();
        foreach (var (key, value) in environment.Where(e => e.Key.StartsWith("Database__", StringComparison.Ordinal)))
        {
            Assert.Equal(value!.ToString(), Env(backend, key));
            Assert.Equal(value.ToString(), Env(migrate, key));
        }
        foreach (var (key, value) in environment.Where(e => e.Key.StartsWith("Redis__", StringComparison.Ordinal)))
        {
            Assert.Equal(value!.ToString(), Env(backend, key));
        }
        Assert.Equal("Production", Env(backend, "ASPNETCORE_ENVIRONMENT"));
        Assert.Equal("Production", Env(migrate, "ASPNETCORE_ENVIRONMENT"));
        Assert.Equal(["migrate"], migrate["args"]!.AsArray().Select(a => (string?)a));
        Assert.Equal("Never", (string?)overlay.Get("Job", "migrate")["spec"]!["template"]!["spec"]!["restartPolicy"]);
        Assert.Equal((string?)backend["image"], (string?)migrate["image"]);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void NginxServesTheRepositorysTemplateFromAConfigMapAndKnowsTheSiteNames(string name)
    {
        var overlay = manifests.Overlay(name);
        var template = File.ReadAllText(Path.Combine(TestPaths.Repository, "deploy", "nginx", "default.conf.template"));

        var configMap = overlay.ConfigMap("nginx-templates");
        Assert.Equal(template, (string?)configMap["data"]!["default.conf.template"]);
        var pod = overlay.Get("Deployment", "nginx")["spec"]!["template"]!["spec"]!;
        var volume = pod["volumes"]!.AsArray().Single(v => (string?)v!["configMap"]?["name"] == (string?)configMap["metadata"]!["name"])!;
        var nginx = Containers(pod).Single();
        var mount = nginx["volumeMounts"]!.AsArray().Single(m => (string?)m!["name"] == (string?)volume["name"])!;
        Assert.Equal("/etc/nginx/templates", (string?)mount["mountPath"]);
        Assert.Equal("backend:8080", Env(nginx, "QUARTET_BACKEND"));
        Assert.Equal("false", Env(nginx, "QUARTET_LOOPBACK_ONLY"));
        var serverNames = nginx["env"]!.AsArray().Single(e => (string?)e!["name"] == "QUARTET_SERVER_NAMES")!;
        Assert.StartsWith("site-", (string?)serverNames["valueFrom"]!["configMapKeyRef"]!["name"], StringComparison.Ordinal);
    }

    [Fact]
    public void TheInClusterRedisServersAreTheStateAndTheCacheInstanceStartedFromTheRepositorysScript()
    {
        var overlay = manifests.Overlay("in-cluster-data");
        var config = overlay.ConfigMap("redis-config")["data"]!;
        Assert.Equal(File.ReadAllText(Path.Combine(TestPaths.Repository, "deploy", "redis", "quartet.acl")), (string?)config["quartet.acl"]);
        Assert.Equal(File.ReadAllText(Path.Combine(TestPaths.Repository, "deploy", "redis", "redis-start.sh")), (string?)config["redis-start.sh"]);

        var state = overlay.Get("StatefulSet", "redis");
        var stateCommand = Containers(state["spec"]!["template"]!["spec"]!).Single()["command"]!.AsArray().Select(a => (string?)a).ToList();
        Assert.Equal(["sh", "/etc/quartet/redis/redis-start.sh", "state", "256mb"], stateCommand);
        Assert.Equal("data", (string?)Assert.Single(state["spec"]!["volumeClaimTemplates"]!.AsArray())!["metadata"]!["name"]);

        var cache = overlay.Get("Deployment", "redis-cache");
        var cacheCommand = Containers(cache["spec"]!["template"]!["spec"]!).Single()["command"]!.AsArray().Select(a => (string?)a).ToList();
        Assert.Equal(["sh", "/etc/quartet/redis/redis-start.sh", "cache", "128mb"], cacheCommand);

        var postgres = overlay.Get("StatefulSet", "postgres");
        Assert.Equal("/run/secrets/db_password", Env(Containers(postgres["spec"]!["template"]!["spec"]!).Single(), "POSTGRES_PASSWORD_FILE"));
        Assert.NotNull(postgres["spec"]!["volumeClaimTemplates"]);
    }

    [Fact]
    public void TheExternalDataOverlayRunsNoDataServerAndNamesTheExternalOnes()
    {
        var overlay = manifests.Overlay("external-data");

        Assert.Empty(overlay.OfKind("StatefulSet"));
        foreach (var server in DataServers)
        {
            Assert.Null(overlay.Find("Deployment", server));
            var service = overlay.Get("Service", server)["spec"]!;
            Assert.Equal("ExternalName", (string?)service["type"]);
            Assert.False(string.IsNullOrEmpty((string?)service["externalName"]));
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void EverythingIsDeniedThatIsNotAllowedAndOnlyNginxTakesTrafficFromAnywhere(string name)
    {
        var policies = manifests.Overlay(name).OfKind("NetworkPolicy").ToList();

        var denyAll = Assert.Single(policies, p => p["spec"]!["podSelector"]!.AsObject().Count == 0
            && p["spec"]!["ingress"] is null && p["spec"]!["egress"] is null);
        Assert.Equal(["Egress", "Ingress"], denyAll["spec"]!["policyTypes"]!.AsArray().Select(t => (string?)t).Order());
        foreach (var policy in policies)
        {
            foreach (var rule in policy["spec"]!["ingress"]?.AsArray() ?? [])
            {
                if (rule!["from"] is null)
                {
                    Assert.Equal("nginx", (string?)policy["spec"]!["podSelector"]!["matchLabels"]?["app.kubernetes.io/component"]);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void TheBackendMayLeaveOnlyForDnsTheDataServersAndTheMailRelay(string name)
    {
        var overlay = manifests.Overlay(name);
        var backendLabels = overlay.Get("Deployment", "backend")["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        var rules = overlay.OfKind("NetworkPolicy")
            .Where(p => Selects(p["spec"]!["podSelector"]!.AsObject(), backendLabels))
            .SelectMany(p => p["spec"]!["egress"]?.AsArray() ?? [])
            .ToList();

        Assert.NotEmpty(rules);
        var ports = new SortedSet<long>();
        foreach (var rule in rules)
        {
            // A rule without destinations or ports would allow everywhere or every port.
            var to = rule!["to"]?.AsArray();
            Assert.True(to is { Count: > 0 }, $"an egress rule of the backend names no destination: {rule.ToJsonString()}");
            Assert.True(rule["ports"]?.AsArray() is { Count: > 0 }, $"an egress rule of the backend names no port: {rule.ToJsonString()}");
            foreach (var destination in to)
            {
                var cidr = (string?)destination!["ipBlock"]?["cidr"];
                Assert.True(cidr is null || !cidr.EndsWith("/0", StringComparison.Ordinal), $"the backend may reach the whole internet: {cidr}");
            }
            foreach (var port in rule["ports"]!.AsArray())
            {
                ports.Add((long)port!["port"]!);
            }
        }
        Assert.Equal([53L, 587L, 5432L, 6379L], ports);
        var dns = rules.Where(r => r!["ports"]!.AsArray().Any(p => (long?)p!["port"] == 53)).ToList();
        Assert.All(dns, r => Assert.All(r!["to"]!.AsArray(), d => Assert.Equal("kube-dns", (string?)d!["podSelector"]?["matchLabels"]?["k8s-app"])));
    }

    /// <summary>The secrets each compose service gets, production's added to development's, but the backups' own.</summary>
    private static Dictionary<string, HashSet<string>> ComposeSecrets()
    {
        var secrets = new Dictionary<string, HashSet<string>>();
        foreach (var file in (string[])["compose.yaml", "compose.prod.yaml"])
        {
            var services = RenderedManifests.Parse(File.ReadAllText(Path.Combine(TestPaths.Repository, file))).Single()["services"]!.AsObject();
            foreach (var (service, definition) in services)
            {
                // The backup service's Redis user and the backups' passphrase exist in production compose only
                // (decisions 0021, 0031): Kubernetes runs no backup service of its own.
                foreach (var secret in (definition!["secrets"]?.AsArray() ?? []).Where(s => (string?)s is not ("redis_backup_password" or "backup_passphrase")))
                {
                    (secrets.TryGetValue(service, out var set) ? set : secrets[service] = []).Add((string)secret!);
                }
            }
        }
        return secrets;
    }

    private static IEnumerable<JsonObject> Containers(JsonNode pod) =>
        [.. (pod["initContainers"]?.AsArray() ?? []).Concat(pod["containers"]!.AsArray()).Select(c => c!.AsObject())];

    private static string? Env(JsonNode container, string name) =>
        (string?)container["env"]?.AsArray().SingleOrDefault(e => (string?)e!["name"] == name)?["value"];

    private static bool Selects(JsonObject selector, JsonObject labels)
    {
        foreach (var (key, value) in selector["matchLabels"]?.AsObject() ?? [])
        {
            if ((string?)labels[key] != (string?)value)
            {
                return false;
            }
        }
        foreach (var expression in selector["matchExpressions"]?.AsArray() ?? [])
        {
            var values = expression!["values"]?.AsArray().Select(v => (string?)v).ToList() ?? [];
            var label = (string?)labels[(string)expression["key"]!];
            var matches = (string?)expression["operator"] switch
            {
                "In" => label is not null && values.Contains(label),
                "NotIn" => label is null || !values.Contains(label),
                "Exists" => label is not null,
                "DoesNotExist" => label is null,
                _ => false,
            };
            if (!matches)
            {
                return false;
            }
        }
        return true;
    }
}
