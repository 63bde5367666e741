using OtelPower.Agent.Kubernetes.Api;

namespace OtelPower.Agent.Tests.Kubernetes;

internal static class PodFixtures
{
    public const string Node = "node-a";

    public static string Hex(char c) => new(c, 64);

    public static V1Pod Pod(
        string ns,
        string name,
        string uid,
        string resourceVersion,
        IDictionary<string, string>? labels = null,
        IList<V1ContainerStatus>? containers = null,
        IList<V1ContainerStatus>? initContainers = null,
        IList<V1ContainerStatus>? ephemeralContainers = null) => new()
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Uid = uid, ResourceVersion = resourceVersion, Labels = labels },
            Status = new V1PodStatus
            {
                ContainerStatuses = containers,
                InitContainerStatuses = initContainers,
                EphemeralContainerStatuses = ephemeralContainers,
            },
        };

    public static V1ContainerStatus Container(string name, string? containerId) => new() { Name = name, ContainerID = containerId };

    public static V1PodList List(string resourceVersion, params V1Pod[] pods) => new()
    {
        Metadata = new V1ListMeta { ResourceVersion = resourceVersion },
        Items = pods,
    };
}
