using System.Collections.Concurrent;

namespace OtelPower.Deployment.Tests;

/// <summary>
/// Every way of deploying the agent that the manifest assertions check: the kustomize folder, and the
/// Helm chart rendered with its defaults and with each toggle. Theories take the name and look the
/// objects up here (rendered once per test run).
/// </summary>
public static class Deployments
{
    public const string Kustomize = "kustomize";

    public const string HelmDefaults = "helm";

    /// <summary>An OTLP endpoint outside the release, for the renders without the bundled collector.</summary>
    public const string ExternalEndpoint = "http://otel-collector.observability:4317";

    /// <summary>Each Helm render by name: the --set values it is rendered with.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> HelmValues = new Dictionary<string, string[]>
    {
        [HelmDefaults] = [],
        ["helm gpu.enabled"] = ["gpu.enabled=true", "gpu.nvmlLibrary=/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1", "string:nodeSelector.nvidia\\.com/gpu\\.present=true"],
        ["helm vm.enabled"] = ["vm.enabled=true"],
        ["helm serviceMonitor.enabled"] = ["serviceMonitor.enabled=true", "serviceMonitor.labels.release=kube-prometheus-stack"],
        ["helm collector.enabled=false"] = ["collector.enabled=false", $"otlp.endpoint={ExternalEndpoint}"],
        ["helm collector.enabled=false serviceMonitor.enabled"] = ["collector.enabled=false", $"otlp.endpoint={ExternalEndpoint}", "serviceMonitor.enabled=true"],
        ["helm otlp http and headers secret"] = ["otlp.protocol=http/protobuf", "otlp.headersSecret.name=vendor-otlp", "otlp.headersSecret.key=headers"],
        ["helm carbon.configMap"] = ["carbon.configMap.name=grid-carbon", "carbon.configMap.key=gco2e-per-kwh"],
        ["helm prometheusRule.enabled"] = ["prometheusRule.enabled=true", "prometheusRule.labels.release=kube-prometheus-stack", "carbon.intensity=250"],
        ["helm every option"] =
        [
            "interval=2.5", "exporters={otlp,prometheus,json}", "prometheusPort=9500",
            "image.repository=registry.example/otelpower-agent", "image.tag=1.2.3",
            "podLabelsToCopy={app.kubernetes.io/name,team}", "extraArgs={--top,5}",
            "priorityClassName=system-node-critical",
            "resources.limits.memory=300Mi", "tolerations:=[{\"key\":\"dedicated\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]",
            "gpu.enabled=true", "vm.enabled=true", "vm.hostPath=/srv/vm-powercap", "serviceMonitor.enabled=true",
            "otlp.headersSecret.name=vendor-otlp", "collector.clusterName=prod-eu", "carbon.intensity=412.5",
        ],
    };

    private static readonly ConcurrentDictionary<string, ManifestSet> Rendered = new(StringComparer.Ordinal);

    public static ManifestSet Get(string name) => name == Kustomize
        ? KubernetesManifests.Kustomize
        : Rendered.GetOrAdd(name, n => HelmChart.Render(n, HelmValues[n]));

    /// <summary>Every deployment.</summary>
    public static TheoryData<string> All() => Names(_ => true);

    /// <summary>The deployments that bundle the collector.</summary>
    public static TheoryData<string> WithCollector() =>
        Names(n => n == Kustomize || !HelmValues[n].Contains("collector.enabled=false"));

    private static TheoryData<string> Names(Func<string, bool> include)
    {
        var data = new TheoryData<string>();
        foreach (var name in HelmValues.Keys.Prepend(Kustomize).Where(include))
        {
            data.Add(name);
        }

        return data;
    }
}
