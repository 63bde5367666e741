namespace OtelPower.Agent.Kubernetes;

/// <summary>
/// Where the agent learns pod, namespace and container names: the Kubernetes API server, pods of this node
/// only. Bound from configuration (<c>--kubernetes</c>, <c>--node-name</c>, <c>--kubeconfig</c>).
/// </summary>
public sealed class KubernetesOptions
{
    /// <summary>The attribute key prefix for copied pod labels (OpenTelemetry semantic conventions).</summary>
    public const string PodLabelAttributePrefix = "k8s.pod.label.";

    internal const string ServiceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token";

    /// <summary>
    /// Watch the API server for pods. The agent turns this on by itself when <see cref="RunningInCluster"/>.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The node whose pods are watched; <c>NODE_NAME</c> (set from the downward API <c>spec.nodeName</c>)
    /// when not given.
    /// </summary>
    public string? NodeName { get; set; }

    /// <summary>
    /// A kubeconfig file. When not given: the in-cluster service account, else <c>~/.kube/config</c>.
    /// </summary>
    public string? KubeconfigPath { get; set; }

    /// <summary>
    /// Pod label keys (e.g. <c>app.kubernetes.io/name</c>) copied to attributes <c>k8s.pod.label.&lt;key&gt;</c>.
    /// </summary>
    public IReadOnlyList<string> PodLabels { get; set; } = [];

    /// <summary>How long to wait before listing again after the API server could not be reached.</summary>
    public TimeSpan ResyncBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// True inside a pod: the API server's address is in the environment and a service account token is
    /// mounted.
    /// </summary>
    public static bool RunningInCluster =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"))
        && File.Exists(ServiceAccountTokenPath);

    /// <summary>The configured node name, else <c>NODE_NAME</c>; null when neither is set.</summary>
    public string? ResolveNodeName()
    {
        string? name = string.IsNullOrWhiteSpace(NodeName) ? Environment.GetEnvironmentVariable("NODE_NAME") : NodeName;
        return string.IsNullOrWhiteSpace(name) ? null : name.Trim();
    }
}
