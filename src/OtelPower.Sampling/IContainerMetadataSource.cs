using System.Collections.Immutable;
using OtelPower.Attribution;

namespace OtelPower.Sampling;

/// <summary>
/// Names for the containers in each sample (from the Kubernetes API, a container engine...). Registered in
/// the services, it is read once per sample; without one, containers carry only their ids.
/// </summary>
public interface IContainerMetadataSource
{
    /// <summary>Names by container id, as known at this instant; null for none.</summary>
    ImmutableDictionary<string, ContainerMetadata>? Containers { get; }

    /// <summary>
    /// Names by pod UID (container name unset), for containers whose ids are not known yet: the UID is in the
    /// cgroup path, so such a container is named by its pod at once. Null for none.
    /// </summary>
    IReadOnlyDictionary<string, ContainerMetadata>? Pods { get; }
}
