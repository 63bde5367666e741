using System.Collections.Immutable;
using OtelPower.Agent.Kubernetes;
using OtelPower.Attribution;
using OtelPower.Sampling;

namespace OtelPower.Agent.Containers;

/// <summary>
/// The names the agent gives containers in each sample: the Kubernetes API's where it knows them, the container
/// engines' for the rest. Ids from cgroups flow even while the API is unreachable.
/// </summary>
internal sealed class AgentContainerNames(PodMetadataCache pods, ContainerEngineNames engines) : IContainerMetadataSource
{
    private object? _podNamesSource;
    private IReadOnlyDictionary<string, ContainerMetadata> _podNames = new Dictionary<string, ContainerMetadata>();

    public ImmutableDictionary<string, ContainerMetadata> Containers => ContainerEngineNames.Merge(pods.Current, engines.Current);

    /// <summary>Pod names by UID for containers whose ids the API has not reported yet; rebuilt only when the pods change.</summary>
    public IReadOnlyDictionary<string, ContainerMetadata> Pods
    {
        get
        {
            // Read once per sample, on the sampling loop's thread only.
            var current = pods.Pods;
            if (!ReferenceEquals(current, _podNamesSource))
            {
                _podNames = current.ToDictionary(p => p.Key, p => new ContainerMetadata(p.Value.Name, p.Value.Namespace, null, p.Value.Labels), StringComparer.Ordinal);
                _podNamesSource = current;
            }

            return _podNames;
        }
    }
}
