using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace OtelPower.Deployment.Tests;

/// <summary>
/// What every deployment of the agent must get right, checked on the kustomize folder and on each
/// Helm render (<see cref="Deployments"/>): the same assertions for both, so the two cannot drift.
/// </summary>
public sealed class AgentManifestTests
{
    private static string? ArgumentAfter(ManifestSet deployment, string flag) => ManifestSet.ArgumentAfter(deployment.AgentArgs, flag);

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Every_document_has_api_version_kind_and_name(string name)
    {
        var deployment = Deployments.Get(name);

        Assert.NotEmpty(deployment.All);
        foreach (var document in deployment.All)
        {
            Assert.False(string.IsNullOrWhiteSpace(document.Text("apiVersion")), $"{name}: a document has no apiVersion.");
            Assert.False(string.IsNullOrWhiteSpace(document.Text("kind")), $"{name}: a document has no kind.");
            Assert.False(string.IsNullOrWhiteSpace(document.Text("metadata", "name")), $"{name}: a document has no metadata.name.");
        }
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Names_are_unique_per_kind(string name)
    {
        var keys = Deployments.Get(name).All.Select(d => $"{d.Text("kind")}/{d.Text("metadata", "name")}").ToList();

        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Namespaced_objects_share_one_namespace(string name)
    {
        var namespaces = Deployments.Get(name).All
            .Where(d => d.At("metadata", "namespace") is not null)
            .Select(d => d.Text("metadata", "namespace"))
            .Distinct()
            .ToList();

        Assert.Equal(["otelpower"], namespaces);
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void The_agent_sees_the_nodes_processes(string name)
    {
        Assert.Equal("true", Deployments.Get(name).Agent.Text("spec", "template", "spec", "hostPID"));
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Host_filesystems_are_mounted_read_only_where_the_agent_reads_them(string name)
    {
        var deployment = Deployments.Get(name);
        var podSpec = deployment.Agent.At("spec", "template", "spec")!;

        foreach (var (hostPath, flag) in new[] { ("/proc", "--procfs"), ("/sys", "--sysfs") })
        {
            var volume = Assert.Single(podSpec.Sequence("volumes"), v => v.Text("hostPath", "path") == hostPath);
            var mount = Assert.Single(deployment.AgentContainer.Sequence("volumeMounts"), m => m.Text("name") == volume.Text("name"));

            Assert.Equal("true", mount.Text("readOnly"));
            Assert.Equal(mount.Text("mountPath"), ArgumentAfter(deployment, flag));
        }
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Cgroups_are_read_from_the_mounted_host_sys(string name)
    {
        var deployment = Deployments.Get(name);

        Assert.Equal($"{ArgumentAfter(deployment, "--sysfs")}/fs/cgroup", ArgumentAfter(deployment, "--cgroupfs"));
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Host_mounts_are_read_only_but_the_vm_powercap_tree_the_agent_writes(string name)
    {
        var deployment = Deployments.Get(name);
        var podSpec = deployment.Agent.At("spec", "template", "spec")!;
        var hostVolumes = podSpec.Sequence("volumes").Where(v => v.At("hostPath") is not null).Select(v => v.Text("name")).ToHashSet();
        var written = ArgumentAfter(deployment, "--vm-powercap");

        Assert.All(
            deployment.AgentContainer.Sequence("volumeMounts").Where(m => hostVolumes.Contains(m.Text("name"))),
            m =>
            {
                if (written is not null && m.Text("mountPath") == written)
                {
                    Assert.NotEqual("true", m.Text("readOnly"));
                }
                else
                {
                    Assert.Equal("true", m.Text("readOnly"));
                }
            });
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Node_name_comes_from_the_downward_api(string name)
    {
        var env = Deployments.Get(name).AgentEnv("NODE_NAME");

        Assert.NotNull(env);
        Assert.Equal("spec.nodeName", env.Text("valueFrom", "fieldRef", "fieldPath"));
    }

    [Theory]
    [MemberData(nameof(Deployments.WithCollector), MemberType = typeof(Deployments))]
    public void The_agent_pushes_otlp_to_the_collector_service(string name)
    {
        var deployment = Deployments.Get(name);
        var env = deployment.AgentEnv("OTEL_EXPORTER_OTLP_ENDPOINT");
        Assert.NotNull(env);
        var endpoint = new Uri(env.Text("value")!);
        var collector = deployment.Collector!;
        var service = Assert.Single(deployment.OfKind("Service"), s => SelectsPodsOf(s, collector));
        var protocol = deployment.AgentEnv("OTEL_EXPORTER_OTLP_PROTOCOL")?.Text("value");
        var portName = protocol == "http/protobuf" ? "otlp-http" : "otlp-grpc";

        Assert.Equal(service.Text("metadata", "name"), endpoint.Host.Split('.')[0]);
        Assert.Contains(service.Sequence("spec", "ports"), p => p.Text("name") == portName && p.Text("port") == endpoint.Port.ToString(CultureInfo.InvariantCulture));
        Assert.Contains("otlp", ArgumentAfter(deployment, "--exporter")!.Split(','));
        Assert.Contains("--kubernetes", deployment.AgentArgs);
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void The_agent_has_requests_limits_and_probes(string name)
    {
        var container = Deployments.Get(name).AgentContainer;

        foreach (var bound in new[] { "requests", "limits" })
        {
            Assert.NotNull(container.Text("resources", bound, "cpu"));
            Assert.NotNull(container.Text("resources", bound, "memory"));
        }

        Assert.NotNull(container.At("livenessProbe"));
        Assert.NotNull(container.At("readinessProbe"));
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Http_probes_hit_the_prometheus_endpoint_the_agent_serves(string name)
    {
        var deployment = Deployments.Get(name);
        var container = deployment.AgentContainer;
        var port = Assert.Single(container.Sequence("ports"));
        Assert.Equal(ArgumentAfter(deployment, "--prometheus-port"), port.Text("containerPort"));
        Assert.Contains("prometheus", ArgumentAfter(deployment, "--exporter")!.Split(','));

        foreach (var probe in new[] { "livenessProbe", "readinessProbe" })
        {
            Assert.Equal("/metrics", container.Text(probe, "httpGet", "path"));
            Assert.Contains(container.Text(probe, "httpGet", "port"), new[] { port.Text("name"), port.Text("containerPort") });
        }
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void The_agent_is_root_for_powercap_but_otherwise_unprivileged(string name)
    {
        var security = Deployments.Get(name).AgentContainer.At("securityContext")!;

        Assert.Equal("0", security.Text("runAsUser"));
        Assert.NotEqual("true", security.Text("privileged"));
        Assert.Equal("false", security.Text("allowPrivilegeEscalation"));
        Assert.Equal("true", security.Text("readOnlyRootFilesystem"));
        Assert.Equal(["ALL"], security.Texts("capabilities", "drop"));
        Assert.Empty(security.Sequence("capabilities", "add"));
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void The_agent_uses_its_own_service_account(string name)
    {
        var deployment = Deployments.Get(name);
        var account = deployment.Single("ServiceAccount");

        Assert.Equal(account.Text("metadata", "name"), deployment.Agent.Text("spec", "template", "spec", "serviceAccountName"));
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Rbac_grants_get_list_watch_on_pods_and_nothing_else(string name)
    {
        var deployment = Deployments.Get(name);
        var roles = deployment.OfKind("ClusterRole").Concat(deployment.OfKind("Role")).ToList();
        var role = Assert.Single(roles);
        var rule = Assert.Single(role.Sequence("rules"));

        Assert.Equal([""], rule.Texts("apiGroups"));
        Assert.Equal(["pods"], rule.Texts("resources"));
        Assert.Equal(["get", "list", "watch"], rule.Texts("verbs").Order(StringComparer.Ordinal));
        Assert.Null(rule.At("resourceNames"));
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void The_binding_gives_the_role_to_the_agents_service_account(string name)
    {
        var deployment = Deployments.Get(name);
        var binding = deployment.Single("ClusterRoleBinding");
        var role = deployment.Single("ClusterRole");
        var account = deployment.Single("ServiceAccount");
        var subject = Assert.Single(binding.Sequence("subjects"));

        Assert.Equal("ClusterRole", binding.Text("roleRef", "kind"));
        Assert.Equal(role.Text("metadata", "name"), binding.Text("roleRef", "name"));
        Assert.Equal("ServiceAccount", subject.Text("kind"));
        Assert.Equal(account.Text("metadata", "name"), subject.Text("name"));
        Assert.Equal(account.Text("metadata", "namespace"), subject.Text("namespace"));
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Every_service_selects_one_workloads_pods_on_named_ports(string name)
    {
        var deployment = Deployments.Get(name);
        var workloads = deployment.OfKind("DaemonSet").Concat(deployment.OfKind("Deployment")).ToList();

        foreach (var service in deployment.OfKind("Service"))
        {
            var workload = Assert.Single(workloads, w => SelectsPodsOf(service, w));
            var portNames = ManifestSet.Container(workload).Sequence("ports").Select(p => p.Text("name")).ToHashSet();
            Assert.All(service.Sequence("spec", "ports"), p => Assert.Contains(p.Text("targetPort"), portNames));
        }
    }

    [Theory]
    [MemberData(nameof(Deployments.All), MemberType = typeof(Deployments))]
    public void Workload_selectors_match_their_pod_labels(string name)
    {
        var deployment = Deployments.Get(name);

        foreach (var workload in deployment.OfKind("DaemonSet").Concat(deployment.OfKind("Deployment")))
        {
            var selector = workload.Mapping("spec", "selector", "matchLabels");
            var podLabels = workload.Mapping("spec", "template", "metadata", "labels");

            Assert.NotEmpty(selector.Children);
            foreach (var (key, value) in selector.Children)
            {
                Assert.Equal(((YamlScalarNode)value).Value, podLabels.Text(((YamlScalarNode)key).Value!));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Deployments.WithCollector), MemberType = typeof(Deployments))]
    public void The_collector_has_requests_limits_and_health_check_probes(string name)
    {
        var container = ManifestSet.Container(Deployments.Get(name).Collector!);
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

    [Theory]
    [MemberData(nameof(Deployments.WithCollector), MemberType = typeof(Deployments))]
    public void The_collector_runs_the_config_from_its_configmap(string name)
    {
        var deployment = Deployments.Get(name);
        var collector = deployment.Collector!;
        var configMap = deployment.Single("ConfigMap");
        var container = ManifestSet.Container(collector);
        var volume = Assert.Single(collector.Sequence("spec", "template", "spec", "volumes"), v => v.At("configMap") is not null);
        var mount = Assert.Single(container.Sequence("volumeMounts"), m => m.Text("name") == volume.Text("name"));
        var key = Assert.Single(volume.Sequence("configMap", "items"));

        Assert.Equal(configMap.Text("metadata", "name"), volume.Text("configMap", "name"));
        Assert.Contains($"--config={mount.Text("mountPath")}/{key.Text("path")}", container.Texts("args"));
        Assert.NotNull(configMap.Text("data", key.Text("key")!));
    }

    [Theory]
    [MemberData(nameof(Deployments.WithCollector), MemberType = typeof(Deployments))]
    public void The_configmap_holds_exactly_the_default_collector_config(string name)
    {
        var configMap = Deployments.Get(name).Single("ConfigMap");
        var expected = File.ReadAllText(Path.Combine(YamlFiles.CollectorFolder, "config.yaml"));

        Assert.Equal(expected, configMap.Text("data", "config.yaml"));
    }

    private static bool SelectsPodsOf(YamlMappingNode service, YamlMappingNode workload)
    {
        var selector = service.At("spec", "selector") as YamlMappingNode;
        var podLabels = workload.At("spec", "template", "metadata", "labels");
        return selector is { Children.Count: > 0 } && podLabels is not null
            && selector.Children.All(pair => podLabels.Text(((YamlScalarNode)pair.Key).Value!) == ((YamlScalarNode)pair.Value).Value);
    }
}
