using k8s.Models;

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
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Uid = uid, ResourceVersion = resourceVersion, Labels = labels },
            Spec = new V1PodSpec { NodeName = Node, Containers = [new V1Container { Name = "main" }] },
            Status = new V1PodStatus
            {
                Phase = "Running",
                ContainerStatuses = containers,
                InitContainerStatuses = initContainers,
                EphemeralContainerStatuses = ephemeralContainers,
            },
        };

    public static V1ContainerStatus Container(string name, string? containerId) => new()
    {
        Name = name,
        ContainerID = containerId,
        Image = "example/" + name,
        ImageID = "sha256:" + Hex('0'),
        Ready = containerId is not null,
        RestartCount = 0,
    };

    public static V1PodList List(string resourceVersion, params V1Pod[] pods) => new()
    {
        ApiVersion = "v1",
        Kind = "PodList",
        Metadata = new V1ListMeta { ResourceVersion = resourceVersion },
        Items = pods,
    };
}
