using System.Text;
using YamlDotNet.RepresentationModel;

namespace OtelPower.Deployment.Tests;

/// <summary>
/// charts/otelpower with a real helm: lint, the default render against otel-collector/k8s, what each
/// value turns into, and the schema refusing bad values. The checks every deployment shares are in
/// <see cref="AgentManifestTests"/>, which runs them on each render as well.
/// </summary>
public sealed class HelmChartTests
{
    private static ManifestSet Defaults => Deployments.Get(Deployments.HelmDefaults);

    private static ManifestSet EveryOption => Deployments.Get("helm every option");

    [Fact]
    public void Lint_strict_passes_with_the_defaults_and_every_option()
    {
        var plain = HelmChart.Run("lint", "--strict", HelmChart.ChartFolder);
        Assert.True(plain.ExitCode == 0, plain.Output + plain.Error);

        var options = Deployments.HelmValues["helm every option"].Where(v => !v.Contains(":=", StringComparison.Ordinal))
            .SelectMany(v => new[] { "--set", v });
        var everything = HelmChart.Run(["lint", "--strict", HelmChart.ChartFolder, .. options]);
        Assert.True(everything.ExitCode == 0, everything.Output + everything.Error);
    }

    [Fact]
    public void The_default_render_runs_the_agent_exactly_as_the_kustomize_manifests_do()
    {
        var kustomize = KubernetesManifests.Kustomize;

        Assert.Equal(kustomize.AgentArgs, Defaults.AgentArgs);
        Assert.Equal(Canonical(kustomize.AgentContainer.At("securityContext")), Canonical(Defaults.AgentContainer.At("securityContext")));
        Assert.Equal(Canonical(kustomize.AgentContainer.At("volumeMounts")), Canonical(Defaults.AgentContainer.At("volumeMounts")));
        Assert.Equal(Canonical(PodSpec(kustomize).At("volumes")), Canonical(PodSpec(Defaults).At("volumes")));
        foreach (var key in new[] { "hostPID", "tolerations", "nodeSelector", "terminationGracePeriodSeconds" })
        {
            Assert.Equal(Canonical(PodSpec(kustomize).At(key)), Canonical(PodSpec(Defaults).At(key)));
        }

        foreach (var key in new[] { "resources", "ports", "livenessProbe", "readinessProbe" })
        {
            Assert.Equal(Canonical(kustomize.AgentContainer.At(key)), Canonical(Defaults.AgentContainer.At(key)));
        }

        // The same variables; only the collector Service's name differs (it carries the release's).
        Assert.Equal(EnvNames(kustomize), EnvNames(Defaults));
        foreach (var name in EnvNames(kustomize).Where(n => n != "OTEL_EXPORTER_OTLP_ENDPOINT"))
        {
            Assert.Equal(Canonical(kustomize.AgentEnv(name)), Canonical(Defaults.AgentEnv(name)));
        }
    }

    [Fact]
    public void The_default_render_bundles_the_collector_as_the_kustomize_manifests_do()
    {
        var kustomize = KubernetesManifests.Kustomize;
        var theirs = ManifestSet.Container(kustomize.Collector!);
        var ours = ManifestSet.Container(Defaults.Collector!);

        foreach (var key in new[] { "image", "args", "env", "ports", "resources", "securityContext", "volumeMounts", "livenessProbe", "readinessProbe" })
        {
            Assert.Equal(Canonical(theirs.At(key)), Canonical(ours.At(key)));
        }

        Assert.Equal(
            Canonical(kustomize.Collector!.At("spec", "template", "spec", "securityContext")),
            Canonical(Defaults.Collector!.At("spec", "template", "spec", "securityContext")));
        Assert.Equal(Canonical(kustomize.Single("Service").At("spec", "ports")), Canonical(Defaults.Single("Service").At("spec", "ports")));
    }

    [Fact]
    public void The_chart_carries_an_exact_copy_of_the_default_collector_config()
    {
        Assert.Equal(
            File.ReadAllText(Path.Combine(YamlFiles.CollectorFolder, "config.yaml")),
            File.ReadAllText(Path.Combine(HelmChart.ChartFolder, "files", "collector-config.yaml")));
    }

    [Fact]
    public void The_prometheus_rule_holds_exactly_the_carbon_recording_rules()
    {
        var rulesPath = RepositoryRoot.Combine("otel-collector", "prometheus", "carbon.rules.yaml");
        Assert.Equal(File.ReadAllText(rulesPath), File.ReadAllText(Path.Combine(HelmChart.ChartFolder, "files", "carbon.rules.yaml")));

        var rule = Deployments.Get("helm prometheusRule.enabled").Single("PrometheusRule");
        Assert.Equal("monitoring.coreos.com/v1", rule.Text("apiVersion"));
        Assert.Equal("kube-prometheus-stack", rule.Text("metadata", "labels", "release"));
        Assert.Equal(Canonical(YamlFiles.LoadSingleMapping(rulesPath).At("groups")), Canonical(rule.At("spec", "groups")));
        Assert.Empty(Defaults.OfKind("PrometheusRule"));
    }

    [Fact]
    public void Gpu_nodes_get_the_nvidia_runtime_and_the_management_interface_only()
    {
        var gpu = Deployments.Get("helm gpu.enabled");

        Assert.Equal("nvidia", PodSpec(gpu).Text("runtimeClassName"));
        Assert.Equal("all", gpu.AgentEnv("NVIDIA_VISIBLE_DEVICES")?.Text("value"));
        Assert.Equal("utility", gpu.AgentEnv("NVIDIA_DRIVER_CAPABILITIES")?.Text("value"));
        Assert.Equal("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1", ManifestSet.ArgumentAfter(gpu.AgentArgs, "--nvml-library"));
        Assert.Equal("true", PodSpec(gpu).Text("nodeSelector", "nvidia.com/gpu.present"));
        // Reading counters must not reserve a GPU from the workloads.
        Assert.DoesNotContain("nvidia.com/gpu", gpu.AgentContainer.Keys("resources", "limits"));

        Assert.Null(PodSpec(Defaults).At("runtimeClassName"));
        Assert.Null(Defaults.AgentEnv("NVIDIA_VISIBLE_DEVICES"));
        Assert.DoesNotContain("--nvml-library", Defaults.AgentArgs);
    }

    [Fact]
    public void Hypervisor_nodes_get_a_writable_host_directory_for_the_vm_powercap_tree()
    {
        var vm = Deployments.Get("helm vm.enabled");
        var directory = ManifestSet.ArgumentAfter(vm.AgentArgs, "--vm-powercap");
        var mount = Assert.Single(vm.AgentContainer.Sequence("volumeMounts"), m => m.Text("mountPath") == directory);
        var volume = Assert.Single(PodSpec(vm).Sequence("volumes"), v => v.Text("name") == mount.Text("name"));

        Assert.Equal("/var/lib/otelpower/vm-powercap", volume.Text("hostPath", "path"));
        Assert.Equal("DirectoryOrCreate", volume.Text("hostPath", "type"));
        Assert.Equal("/srv/vm-powercap", PodSpec(EveryOption).Sequence("volumes").Select(v => v.Text("hostPath", "path")).Single(p => p is not null && p.Contains("vm", StringComparison.Ordinal)));
        Assert.DoesNotContain("--vm-powercap", Defaults.AgentArgs);
    }

    [Fact]
    public void Otlp_headers_come_from_the_named_secret_and_never_from_values()
    {
        var deployment = Deployments.Get("helm otlp http and headers secret");
        var headers = deployment.AgentEnv("OTEL_EXPORTER_OTLP_HEADERS");

        Assert.NotNull(headers);
        Assert.Null(headers.At("value"));
        Assert.Equal("vendor-otlp", headers.Text("valueFrom", "secretKeyRef", "name"));
        Assert.Equal("headers", headers.Text("valueFrom", "secretKeyRef", "key"));
        Assert.Null(Defaults.AgentEnv("OTEL_EXPORTER_OTLP_HEADERS"));
        Assert.Empty(deployment.OfKind("Secret"));

        var inline = HelmChart.Template("otlp.headers=api-key=s3cret");
        Assert.NotEqual(0, inline.ExitCode);
    }

    [Fact]
    public void Otlp_over_http_goes_to_the_collectors_http_port()
    {
        var deployment = Deployments.Get("helm otlp http and headers secret");

        Assert.Equal("http/protobuf", deployment.AgentEnv("OTEL_EXPORTER_OTLP_PROTOCOL")?.Text("value"));
        Assert.Equal("http://otelpower-collector:4318", deployment.AgentEnv("OTEL_EXPORTER_OTLP_ENDPOINT")?.Text("value"));
    }

    [Fact]
    public void Without_the_bundled_collector_the_agent_pushes_to_the_given_endpoint()
    {
        var deployment = Deployments.Get("helm collector.enabled=false");

        Assert.Equal(Deployments.ExternalEndpoint, deployment.AgentEnv("OTEL_EXPORTER_OTLP_ENDPOINT")?.Text("value"));
        Assert.Empty(deployment.OfKind("Deployment"));
        Assert.Empty(deployment.OfKind("ConfigMap"));
        Assert.Empty(deployment.OfKind("Service"));

        var missing = HelmChart.Template("collector.enabled=false");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("otlp.endpoint", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_service_monitor_scrapes_the_collectors_prometheus_port_keeping_its_labels()
    {
        var deployment = Deployments.Get("helm serviceMonitor.enabled");
        var monitor = deployment.Single("ServiceMonitor");
        var service = deployment.Single("Service");
        var endpoint = Assert.Single(monitor.Sequence("spec", "endpoints"));

        Assert.Equal("monitoring.coreos.com/v1", monitor.Text("apiVersion"));
        Assert.Equal("kube-prometheus-stack", monitor.Text("metadata", "labels", "release"));
        Assert.All(monitor.Mapping("spec", "selector", "matchLabels").Children, pair =>
            Assert.Equal(((YamlScalarNode)pair.Value).Value, service.Text("metadata", "labels", ((YamlScalarNode)pair.Key).Value!)));
        Assert.Contains(service.Sequence("spec", "ports"), p => p.Text("name") == endpoint.Text("port") && p.Text("port") == "8889");
        Assert.Equal("true", endpoint.Text("honorLabels"));
        Assert.Empty(Defaults.OfKind("ServiceMonitor"));
    }

    [Fact]
    public void Without_the_collector_the_service_monitor_scrapes_each_agent_and_names_its_node()
    {
        var deployment = Deployments.Get("helm collector.enabled=false serviceMonitor.enabled");
        var monitor = deployment.Single("ServiceMonitor");
        var service = deployment.Single("Service");
        var endpoint = Assert.Single(monitor.Sequence("spec", "endpoints"));

        Assert.Equal("None", service.Text("spec", "clusterIP"));
        Assert.All(monitor.Mapping("spec", "selector", "matchLabels").Children, pair =>
            Assert.Equal(((YamlScalarNode)pair.Value).Value, service.Text("metadata", "labels", ((YamlScalarNode)pair.Key).Value!)));
        Assert.Contains(service.Sequence("spec", "ports"), p => p.Text("name") == endpoint.Text("port") && p.Text("port") == "9464");
        Assert.Contains(endpoint.Sequence("relabelings"), r => r.Text("targetLabel") == "host_name"
            && r.Texts("sourceLabels").SequenceEqual(["__meta_kubernetes_pod_node_name"]));

        var noEndpoint = HelmChart.Template("collector.enabled=false", $"otlp.endpoint={Deployments.ExternalEndpoint}", "serviceMonitor.enabled=true", "exporters={otlp}");
        Assert.NotEqual(0, noEndpoint.ExitCode);
        Assert.Contains("prometheus in exporters", noEndpoint.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_option_reaches_the_agent()
    {
        var deployment = EveryOption;
        var args = deployment.AgentArgs;
        var spec = PodSpec(deployment);

        Assert.Equal("registry.example/otelpower-agent:1.2.3", deployment.AgentContainer.Text("image"));
        Assert.Equal("2.5", ManifestSet.ArgumentAfter(args, "--interval"));
        Assert.Equal("2500", deployment.AgentEnv("OTEL_METRIC_EXPORT_INTERVAL")?.Text("value"));
        Assert.Equal("otlp,prometheus,json", ManifestSet.ArgumentAfter(args, "--exporter"));
        Assert.Equal("9500", ManifestSet.ArgumentAfter(args, "--prometheus-port"));
        Assert.Equal(["app.kubernetes.io/name", "team"], ManifestSet.ArgumentsAfter(args, "--pod-label"));
        Assert.Equal(["--top", "5"], args.TakeLast(2));
        Assert.Equal("system-node-critical", spec.Text("priorityClassName"));
        Assert.Equal("300Mi", deployment.AgentContainer.Text("resources", "limits", "memory"));
        Assert.Equal("50m", deployment.AgentContainer.Text("resources", "requests", "cpu"));
        var toleration = Assert.Single(spec.Sequence("tolerations"));
        Assert.Equal("dedicated", toleration.Text("key"));
        Assert.Equal("linux", spec.Text("nodeSelector", "kubernetes.io/os"));
        Assert.Equal("prod-eu", ManifestSet.Container(deployment.Collector!).Sequence("env").Single(e => e.Text("name") == "K8S_CLUSTER_NAME").Text("value"));
    }

    [Fact]
    public void Carbon_intensity_is_a_static_value_or_a_configmap_file_the_agent_re_reads()
    {
        Assert.Equal("412.5", ManifestSet.ArgumentAfter(EveryOption.AgentArgs, "--carbon-intensity"));

        var fromFile = Deployments.Get("helm carbon.configMap");
        var file = ManifestSet.ArgumentAfter(fromFile.AgentArgs, "--carbon-intensity-file")!;
        var mount = Assert.Single(fromFile.AgentContainer.Sequence("volumeMounts"), m => file.StartsWith(m.Text("mountPath") + "/", StringComparison.Ordinal));
        var volume = Assert.Single(PodSpec(fromFile).Sequence("volumes"), v => v.Text("name") == mount.Text("name"));

        Assert.Equal("grid-carbon", volume.Text("configMap", "name"));
        Assert.EndsWith("/gco2e-per-kwh", file, StringComparison.Ordinal);
        // A subPath mount would never see the ConfigMap's updates.
        Assert.Null(mount.At("subPath"));
        Assert.Equal("true", mount.Text("readOnly"));
        Assert.DoesNotContain("--carbon-intensity", fromFile.AgentArgs);
        Assert.DoesNotContain(Defaults.AgentArgs, a => a.StartsWith("--carbon", StringComparison.Ordinal));

        var both = HelmChart.Template("carbon.intensity=400", "carbon.configMap.name=grid-carbon");
        Assert.NotEqual(0, both.ExitCode);
        Assert.Contains("not both", both.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Privileged_is_an_explicit_escape_hatch_that_keeps_everything_else()
    {
        var deployment = HelmChart.Render("helm privileged", "privileged=true");
        var security = deployment.AgentContainer.At("securityContext")!;

        // The API server refuses privileged with allowPrivilegeEscalation false.
        Assert.Equal("true", security.Text("privileged"));
        Assert.Equal("true", security.Text("allowPrivilegeEscalation"));
        Assert.Equal("true", security.Text("readOnlyRootFilesystem"));
        Assert.Equal(["ALL"], security.Texts("capabilities", "drop"));
    }

    [Theory]
    [InlineData("interval=ten", "/interval")]
    [InlineData("interval=0", "/interval")]
    [InlineData("interval=7200", "/interval")]
    [InlineData("exporters={otlp,statsd}", "/exporters/1")]
    [InlineData("exporters={}", "/exporters")]
    [InlineData("otlp.protocol=http", "/otlp/protocol")]
    [InlineData("otlp.endpoint=collector:4317", "/otlp/endpoint")]
    [InlineData("prometheusPort=70000", "/prometheusPort")]
    [InlineData("intervall=5", "intervall")]
    [InlineData("gpu.enabled=yes", "/gpu/enabled")]
    [InlineData("vm.hostPath=relative/dir", "/vm/hostPath")]
    [InlineData("serviceMonitor.interval=30", "/serviceMonitor/interval")]
    [InlineData("carbon.intensity=high", "/carbon/intensity")]
    [InlineData("carbon.intensity=-3", "/carbon/intensity")]
    public void The_schema_rejects_bad_values(string value, string path)
    {
        var result = HelmChart.Template(value);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("schema", result.Error, StringComparison.Ordinal);
        Assert.Contains(path, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("interval=1")]
    [InlineData("interval=0.5")]
    [InlineData("interval:=0.25")]
    [InlineData("exporters={console}")]
    [InlineData("otlp.protocol=http/protobuf")]
    public void The_schema_accepts_good_values(string value)
    {
        var result = HelmChart.Template(value);

        Assert.True(result.ExitCode == 0, result.Error);
    }

    [Fact]
    public void Notes_say_what_to_check_and_open()
    {
        var result = HelmChart.Run("install", HelmChart.ReleaseName, HelmChart.ChartFolder, "--namespace", HelmChart.Namespace, "--dry-run=client");
        Assert.True(result.ExitCode == 0, result.Error);
        var notes = result.Output[result.Output.IndexOf("NOTES:", StringComparison.Ordinal)..];

        Assert.Contains("rollout status daemonset/otelpower-agent", notes, StringComparison.Ordinal);
        Assert.Contains("pod-security.kubernetes.io/enforce=privileged", notes, StringComparison.Ordinal);
        Assert.Contains("otelpower-collector.otelpower:8889/metrics", notes, StringComparison.Ordinal);
        Assert.Contains("otel-collector/grafana/dashboards/otelpower.json", notes, StringComparison.Ordinal);
    }

    private static YamlNode PodSpec(ManifestSet deployment) => deployment.Agent.At("spec", "template", "spec")!;

    private static List<string> EnvNames(ManifestSet deployment) =>
        deployment.AgentContainer.Sequence("env").Select(e => e.Text("name")!).ToList();

    /// <summary>A node as text with mapping keys sorted, so equal YAML compares equal whatever its layout.</summary>
    private static string Canonical(YamlNode? node)
    {
        var text = new StringBuilder();
        Write(node, text);
        return text.ToString();

        static void Write(YamlNode? node, StringBuilder text)
        {
            switch (node)
            {
                case null:
                    text.Append("null");
                    break;
                case YamlScalarNode scalar:
                    text.Append('"').Append(scalar.Value).Append('"');
                    break;
                case YamlSequenceNode sequence:
                    text.Append('[');
                    foreach (var child in sequence.Children)
                    {
                        Write(child, text);
                        text.Append(',');
                    }

                    text.Append(']');
                    break;
                case YamlMappingNode mapping:
                    text.Append('{');
                    foreach (var (key, value) in mapping.Children.OrderBy(p => ((YamlScalarNode)p.Key).Value, StringComparer.Ordinal))
                    {
                        text.Append(((YamlScalarNode)key).Value).Append(':');
                        Write(value, text);
                        text.Append(',');
                    }

                    text.Append('}');
                    break;
            }
        }
    }
}
