using System.Collections.Immutable;

namespace OtelPower.Attribution;

/// <summary>
/// What the Kubernetes API (or a container engine) says about a container. Arrives separately from the
/// cgroup readings and may be missing: the container id still flows, names fill in when they are known.
/// </summary>
/// <param name="PodName">k8s.pod.name.</param>
/// <param name="Namespace">k8s.namespace.name.</param>
/// <param name="ContainerName">k8s.container.name (or the engine's container name).</param>
/// <param name="Labels">Selected pod labels, already mapped to attribute keys by configuration.</param>
public sealed record ContainerMetadata(string? PodName, string? Namespace, string? ContainerName, ImmutableSortedDictionary<string, string> Labels)
{
    public static readonly ImmutableSortedDictionary<string, string> NoLabels = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
}
