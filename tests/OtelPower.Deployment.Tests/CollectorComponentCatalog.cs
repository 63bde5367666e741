namespace OtelPower.Deployment.Tests;

/// <summary>
/// Component type names that exist in otelcol-contrib (open-telemetry/opentelemetry-collector-releases,
/// distributions/otelcol-contrib/manifest.yaml). Classic names plus the snake_case names collectors
/// accept since v0.144 (otlp_grpc, otlp_http, k8s_attributes...). Only names checked against the
/// upstream sources belong here: the point is to catch a typo before a collector refuses to start.
/// </summary>
internal static class CollectorComponentCatalog
{
    public static readonly IReadOnlySet<string> Receivers = new HashSet<string>(StringComparer.Ordinal)
    {
        "otlp", "prometheus", "hostmetrics", "host_metrics", "kubeletstats", "kubelet_stats",
        "k8s_cluster", "k8sobjects", "filelog", "file_log", "jaeger", "zipkin",
    };

    public static readonly IReadOnlySet<string> Processors = new HashSet<string>(StringComparer.Ordinal)
    {
        "memory_limiter", "batch", "k8sattributes", "k8s_attributes", "groupbyattrs", "resource",
        "attributes", "transform", "filter", "resourcedetection", "resource_detection",
        "metricstransform", "cumulativetodelta", "deltatocumulative",
    };

    public static readonly IReadOnlySet<string> Exporters = new HashSet<string>(StringComparer.Ordinal)
    {
        "prometheus", "prometheusremotewrite", "otlp", "otlp_grpc", "otlphttp", "otlp_http", "debug",
        "file", "nop",
    };

    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.Ordinal)
    {
        "health_check", "pprof", "zpages", "basicauth", "bearertokenauth", "headers_setter",
        "oauth2client", "file_storage",
    };

    public static readonly IReadOnlySet<string> Connectors = new HashSet<string>(StringComparer.Ordinal)
    {
        "forward", "routing", "count", "spanmetrics",
    };

    /// <summary>The type of a component id: <c>otlphttp/mimir</c> is an <c>otlphttp</c>.</summary>
    public static string TypeOf(string componentId)
    {
        var slash = componentId.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? componentId : componentId[..slash];
    }
}
