using YamlDotNet.RepresentationModel;

namespace OtelPower.Deployment.Tests;

public sealed class KubernetesManifestTests
{
    private static YamlMappingNode Agent => KubernetesManifests.Single("DaemonSet");

    private static YamlNode AgentContainer => KubernetesManifests.Container(Agent);

    private static List<string> AgentArgs => AgentContainer.Texts("args").ToList();

    private static string? ArgumentAfter(List<string> args, string flag)
    {
        var at = args.IndexOf(flag);
        return at >= 0 && at + 1 < args.Count ? args[at + 1] : null;
    }

    [Fact]
    public void Every_document_has_api_version_kind_and_name()
    {
        foreach (var file in KubernetesManifests.Files())
        {
            var documents = YamlFiles.LoadDocuments(file);
            Assert.NotEmpty(documents);
            foreach (var document in documents)
            {
                var name = Path.GetFileName(file);
                Assert.False(string.IsNullOrWhiteSpace(document.Text("apiVersion")), $"{name}: a document has no apiVersion.");
                Assert.False(string.IsNullOrWhiteSpace(document.Text("kind")), $"{name}: a document has no kind.");
                Assert.False(string.IsNullOrWhiteSpace(document.Text("metadata", "name")), $"{name}: a document has no metadata.name.");
            }
        }
    }

    [Fact]
    public void Names_are_unique_per_kind()
    {
        var keys = KubernetesManifests.All().Select(d => $"{d.Text("kind")}/{d.Text("metadata", "name")}").ToList();

        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void The_agent_sees_the_nodes_processes()
    {
        Assert.Equal("true", Agent.Text("spec", "template", "spec", "hostPID"));
    }

    [Theory]
    [InlineData("/proc", "--procfs")]
    [InlineData("/sys", "--sysfs")]
    public void Host_filesystems_are_mounted_read_only_where_the_agent_reads_them(string hostPath, string flag)
    {
        var podSpec = Agent.At("spec", "template", "spec")!;
        var volume = Assert.Single(podSpec.Sequence("volumes"), v => v.Text("hostPath", "path") == hostPath);
        var mount = Assert.Single(AgentContainer.Sequence("volumeMounts"), m => m.Text("name") == volume.Text("name"));

        Assert.Equal("true", mount.Text("readOnly"));
        Assert.Equal(mount.Text("mountPath"), ArgumentAfter(AgentArgs, flag));
    }

    [Fact]
    public void Cgroups_are_read_from_the_mounted_host_sys()
    {
        var sysMount = ArgumentAfter(AgentArgs, "--sysfs");

        Assert.Equal($"{sysMount}/fs/cgroup", ArgumentAfter(AgentArgs, "--cgroupfs"));
    }

    [Fact]
    public void Host_mounts_are_all_read_only()
    {
        var podSpec = Agent.At("spec", "template", "spec")!;
        var hostVolumes = podSpec.Sequence("volumes").Where(v => v.At("hostPath") is not null).Select(v => v.Text("name")).ToHashSet();

        Assert.All(
            AgentContainer.Sequence("volumeMounts").Where(m => hostVolumes.Contains(m.Text("name"))),
            m => Assert.Equal("true", m.Text("readOnly")));
    }

    [Fact]
    public void Node_name_comes_from_the_downward_api()
    {
        var env = Assert.Single(AgentContainer.Sequence("env"), e => e.Text("name") == "NODE_NAME");

        Assert.Equal("spec.nodeName", env.Text("valueFrom", "fieldRef", "fieldPath"));
    }

    [Fact]
    public void The_agent_pushes_otlp_to_the_collector_service()
    {
        var env = Assert.Single(AgentContainer.Sequence("env"), e => e.Text("name") == "OTEL_EXPORTER_OTLP_ENDPOINT");
        var endpoint = new Uri(env.Text("value")!);
        var service = KubernetesManifests.Single("Service");

        Assert.Equal(service.Text("metadata", "name"), endpoint.Host.Split('.')[0]);
        Assert.Contains(service.Sequence("spec", "ports"), p => p.Text("port") == endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("otlp", ArgumentAfter(AgentArgs, "--exporter")!.Split(','));
        Assert.Contains("--kubernetes", AgentArgs);
    }

    [Fact]
    public void The_agent_has_requests_limits_and_probes()
    {
        foreach (var bound in new[] { "requests", "limits" })
        {
            Assert.NotNull(AgentContainer.Text("resources", bound, "cpu"));
            Assert.NotNull(AgentContainer.Text("resources", bound, "memory"));
        }

        Assert.NotNull(AgentContainer.At("livenessProbe"));
        Assert.NotNull(AgentContainer.At("readinessProbe"));
    }

    [Fact]
    public void Http_probes_hit_the_prometheus_endpoint_the_agent_serves()
    {
        var port = Assert.Single(AgentContainer.Sequence("ports"));
        Assert.Equal(ArgumentAfter(AgentArgs, "--prometheus-port"), port.Text("containerPort"));
        Assert.Contains("prometheus", ArgumentAfter(AgentArgs, "--exporter")!.Split(','));

        foreach (var probe in new[] { "livenessProbe", "readinessProbe" })
        {
            Assert.Equal("/metrics", AgentContainer.Text(probe, "httpGet", "path"));
            Assert.Contains(AgentContainer.Text(probe, "httpGet", "port"), new[] { port.Text("name"), port.Text("containerPort") });
        }
    }

    [Fact]
    public void The_agent_is_root_for_powercap_but_otherwise_unprivileged()
    {
        var security = AgentContainer.At("securityContext")!;

        Assert.Equal("0", security.Text("runAsUser"));
        Assert.NotEqual("true", security.Text("privileged"));
        Assert.Equal("false", security.Text("allowPrivilegeEscalation"));
        Assert.Equal("true", security.Text("readOnlyRootFilesystem"));
        Assert.Equal(["ALL"], security.Texts("capabilities", "drop"));
        Assert.Empty(security.Sequence("capabilities", "add"));
    }

    [Fact]
    public void The_agent_uses_its_own_service_account()
    {
        var account = KubernetesManifests.Single("ServiceAccount");

        Assert.Equal(account.Text("metadata", "name"), Agent.Text("spec", "template", "spec", "serviceAccountName"));
    }

    [Fact]
    public void Rbac_grants_get_list_watch_on_pods_and_nothing_else()
    {
        var roles = KubernetesManifests.OfKind("ClusterRole").Concat(KubernetesManifests.OfKind("Role")).ToList();
        var role = Assert.Single(roles);
        var rule = Assert.Single(role.Sequence("rules"));

        Assert.Equal([""], rule.Texts("apiGroups"));
        Assert.Equal(["pods"], rule.Texts("resources"));
        Assert.Equal(["get", "list", "watch"], rule.Texts("verbs").Order(StringComparer.Ordinal));
        Assert.Null(rule.At("resourceNames"));
    }

    [Fact]
    public void The_binding_gives_the_role_to_the_agents_service_account()
    {
        var binding = KubernetesManifests.Single("ClusterRoleBinding");
        var role = KubernetesManifests.Single("ClusterRole");
        var account = KubernetesManifests.Single("ServiceAccount");
        var subject = Assert.Single(binding.Sequence("subjects"));

        Assert.Equal("ClusterRole", binding.Text("roleRef", "kind"));
        Assert.Equal(role.Text("metadata", "name"), binding.Text("roleRef", "name"));
        Assert.Equal("ServiceAccount", subject.Text("kind"));
        Assert.Equal(account.Text("metadata", "name"), subject.Text("name"));
        Assert.Equal(account.Text("metadata", "namespace"), subject.Text("namespace"));
    }

    [Fact]
    public void The_namespace_admits_the_agents_privileges()
    {
        var ns = KubernetesManifests.Single("Namespace");

        Assert.Equal("privileged", ns.Text("metadata", "labels", "pod-security.kubernetes.io/enforce"));
        Assert.All(
            KubernetesManifests.All().Where(d => d.At("metadata", "namespace") is not null),
            d => Assert.Equal(ns.Text("metadata", "name"), d.Text("metadata", "namespace")));
    }

    [Fact]
    public void The_collector_service_selects_the_collector_pods_on_named_ports()
    {
        var service = KubernetesManifests.Single("Service");
        var deployment = KubernetesManifests.Single("Deployment");
        var podLabels = deployment.Mapping("spec", "template", "metadata", "labels");
        var container = KubernetesManifests.Container(deployment);
        var portNames = container.Sequence("ports").Select(p => p.Text("name")).ToHashSet();

        foreach (var (key, value) in service.Mapping("spec", "selector").Children)
        {
            Assert.Equal(((YamlScalarNode)value).Value, podLabels.Text(((YamlScalarNode)key).Value!));
        }

        Assert.All(service.Sequence("spec", "ports"), p => Assert.Contains(p.Text("targetPort"), portNames));
    }

    [Theory]
    [InlineData("DaemonSet")]
    [InlineData("Deployment")]
    public void Workload_selectors_match_their_pod_labels(string kind)
    {
        var workload = KubernetesManifests.Single(kind);
        var selector = workload.Mapping("spec", "selector", "matchLabels");
        var podLabels = workload.Mapping("spec", "template", "metadata", "labels");

        Assert.NotEmpty(selector.Children);
        foreach (var (key, value) in selector.Children)
        {
            Assert.Equal(((YamlScalarNode)value).Value, podLabels.Text(((YamlScalarNode)key).Value!));
        }
    }

    [Fact]
    public void The_collector_has_requests_limits_and_health_check_probes()
    {
        var container = KubernetesManifests.Container(KubernetesManifests.Single("Deployment"));
        var health = Assert.Single(container.Sequence("ports"), p => p.Text("containerPort") == "13133");

        foreach (var bound in new[] { "requests", "limits" })
        {
            Assert.NotNull(container.Text("resources", bound, "memory"));
        }

        foreach (var probe in new[] { "livenessProbe", "readinessProbe" })
        {
            Assert.Contains(container.Text(probe, "httpGet", "port"), new[] { health.Text("name"), "13133" });
        }

        Assert.Contains(container.Sequence("env"), e => e.Text("name") == "K8S_CLUSTER_NAME");
    }

    [Fact]
    public void The_collector_runs_the_config_from_its_configmap()
    {
        var deployment = KubernetesManifests.Single("Deployment");
        var configMap = KubernetesManifests.Single("ConfigMap");
        var container = KubernetesManifests.Container(deployment);
        var volume = Assert.Single(deployment.Sequence("spec", "template", "spec", "volumes"), v => v.At("configMap") is not null);
        var mount = Assert.Single(container.Sequence("volumeMounts"), m => m.Text("name") == volume.Text("name"));
        var key = Assert.Single(volume.Sequence("configMap", "items"));

        Assert.Equal(configMap.Text("metadata", "name"), volume.Text("configMap", "name"));
        Assert.Contains($"--config={mount.Text("mountPath")}/{key.Text("path")}", container.Texts("args"));
        Assert.NotNull(configMap.Text("data", key.Text("key")!));
    }

    [Fact]
    public void The_configmap_holds_exactly_the_default_collector_config()
    {
        var configMap = KubernetesManifests.Single("ConfigMap");
        var expected = File.ReadAllText(Path.Combine(YamlFiles.CollectorFolder, "config.yaml"));

        Assert.Equal(expected, configMap.Text("data", "config.yaml"));
    }
}
