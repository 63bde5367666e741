namespace OtelPower.Agent.Kubernetes.Api;

// The few fields of the core/v1 API objects the agent reads, named as the API (and KubernetesClient) names
// them. Everything else in a pod (spec, managedFields, conditions) is skipped by the reader, unparsed.

/// <summary>A pod: <c>metadata</c> and <c>status</c>.</summary>
internal sealed class V1Pod
{
    public V1ObjectMeta? Metadata { get; set; }

    public V1PodStatus? Status { get; set; }
}

/// <summary>A pod's <c>metadata</c>.</summary>
internal sealed class V1ObjectMeta
{
    public string? Uid { get; set; }

    public string? Name { get; set; }

    // "namespace" is a C# keyword; KubernetesClient calls it NamespaceProperty too.
    [System.Text.Json.Serialization.JsonPropertyName("namespace")]
    public string? NamespaceProperty { get; set; }

    public string? ResourceVersion { get; set; }

    public IDictionary<string, string>? Labels { get; set; }
}

/// <summary>A pod's <c>status</c>: the containers that exist, with their runtime ids.</summary>
internal sealed class V1PodStatus
{
    public IList<V1ContainerStatus>? ContainerStatuses { get; set; }

    public IList<V1ContainerStatus>? InitContainerStatuses { get; set; }

    public IList<V1ContainerStatus>? EphemeralContainerStatuses { get; set; }
}

/// <summary>One container of a pod's status.</summary>
internal sealed class V1ContainerStatus
{
    public string? Name { get; set; }

    /// <summary><c>runtime://id</c>; absent until the container is created.</summary>
    public string? ContainerID { get; set; }
}

/// <summary>The answer to a list: the pods and the resourceVersion to watch from.</summary>
internal sealed class V1PodList
{
    public V1ListMeta? Metadata { get; set; }

    public IList<V1Pod>? Items { get; set; }
}

/// <summary>A list's <c>metadata</c>.</summary>
internal sealed class V1ListMeta
{
    public string? ResourceVersion { get; set; }
}

/// <summary>What the API server answers on failure, and the object of a watch <c>ERROR</c> event.</summary>
internal sealed class V1Status
{
    public int? Code { get; set; }

    public string? Reason { get; set; }

    public string? Message { get; set; }
}
