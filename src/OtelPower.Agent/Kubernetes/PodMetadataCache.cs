using System.Collections.Immutable;
using OtelPower.Agent.Kubernetes.Api;
using OtelPower.Attribution;

namespace OtelPower.Agent.Kubernetes;

/// <summary>
/// The pods of this node as the API server last described them, turned into what the engine needs: container id
/// (as cgroup paths spell it) to pod, namespace and container names. Readers take <see cref="Current"/> without
/// locking; writers (one watcher) rebuild under a lock and publish a new immutable dictionary.
/// </summary>
internal sealed class PodMetadataCache
{
    private static readonly ImmutableDictionary<string, ContainerMetadata> NoContainers =
        ImmutableDictionary<string, ContainerMetadata>.Empty.WithComparers(StringComparer.Ordinal);

    private static readonly ImmutableDictionary<string, KubernetesPod> NoPods =
        ImmutableDictionary<string, KubernetesPod>.Empty.WithComparers(StringComparer.Ordinal);

    private readonly string[] labelKeys;
    private readonly Lock writeLock = new();

    // Which container ids each pod contributed, so an update or delete removes exactly those.
    private readonly Dictionary<string, string[]> containerIdsByPodKey = new(StringComparer.Ordinal);

    private ImmutableDictionary<string, ContainerMetadata> containers = NoContainers;
    private ImmutableDictionary<string, KubernetesPod> pods = NoPods;

    public PodMetadataCache(IEnumerable<string> podLabelKeys)
    {
        ArgumentNullException.ThrowIfNull(podLabelKeys);
        labelKeys = podLabelKeys.Where(k => !string.IsNullOrWhiteSpace(k)).Select(k => k.Trim()).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Container id (bare, as in cgroup paths) to its names. Empty until the API answers.</summary>
    public ImmutableDictionary<string, ContainerMetadata> Current => Volatile.Read(ref containers);

    /// <summary>Pod UID to its names, including pods whose containers have no id yet.</summary>
    public ImmutableDictionary<string, KubernetesPod> Pods => Volatile.Read(ref pods);

    /// <summary>Forgets everything and takes the pods of a full list.</summary>
    public void Replace(IEnumerable<V1Pod> listedPods)
    {
        ArgumentNullException.ThrowIfNull(listedPods);
        lock (writeLock)
        {
            containerIdsByPodKey.Clear();
            ImmutableDictionary<string, ContainerMetadata>.Builder newContainers = NoContainers.ToBuilder();
            ImmutableDictionary<string, KubernetesPod>.Builder newPods = NoPods.ToBuilder();
            foreach (V1Pod pod in listedPods)
            {
                if (Describe(pod) is not { } described)
                {
                    continue;
                }

                newPods[described.Pod.Uid] = described.Pod;
                foreach ((string id, ContainerMetadata metadata) in described.Containers)
                {
                    newContainers[id] = metadata;
                }

                containerIdsByPodKey[described.Pod.Uid] = [.. described.Containers.Select(c => c.Id)];
            }

            Volatile.Write(ref containers, newContainers.ToImmutable());
            Volatile.Write(ref pods, newPods.ToImmutable());
        }
    }

    /// <summary>Adds a pod or replaces what an earlier version of it said (a restarted container has a new id).</summary>
    public void Upsert(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (Describe(pod) is not { } described)
        {
            return;
        }

        lock (writeLock)
        {
            ImmutableDictionary<string, ContainerMetadata>.Builder newContainers = containers.ToBuilder();
            if (containerIdsByPodKey.TryGetValue(described.Pod.Uid, out string[]? previousIds))
            {
                newContainers.RemoveRange(previousIds);
            }

            foreach ((string id, ContainerMetadata metadata) in described.Containers)
            {
                newContainers[id] = metadata;
            }

            containerIdsByPodKey[described.Pod.Uid] = [.. described.Containers.Select(c => c.Id)];
            Volatile.Write(ref containers, newContainers.ToImmutable());
            Volatile.Write(ref pods, pods.SetItem(described.Pod.Uid, described.Pod));
        }
    }

    /// <summary>Forgets a deleted pod and its containers, so their series end.</summary>
    public void Remove(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (PodKey(pod) is not { } key)
        {
            return;
        }

        lock (writeLock)
        {
            if (containerIdsByPodKey.Remove(key, out string[]? ids))
            {
                Volatile.Write(ref containers, containers.RemoveRange(ids));
            }

            Volatile.Write(ref pods, pods.Remove(key));
        }
    }

    /// <summary>
    /// The id from a status' <c>containerID</c>: <c>containerd://ID</c>, <c>cri-o://ID</c>, <c>docker://ID</c>
    /// (any <c>runtime://</c> prefix). False while the container has not been created.
    /// </summary>
    internal static bool TryParseContainerId(string? containerId, out string id)
    {
        ReadOnlySpan<char> span = containerId.AsSpan().Trim();
        int separator = span.IndexOf("://", StringComparison.Ordinal);
        if (separator >= 0)
        {
            span = span[(separator + 3)..];
        }

        // Runtimes print lowercase hex and so do cgroup paths; normalise in case a runtime does not.
        id = span.IsEmpty ? string.Empty : span.ToString().ToLowerInvariant();
        return id.Length > 0;
    }

    // The UID names a pod uniquely over time; a pod recreated under the same name gets a new one.
    private static string? PodKey(V1Pod pod) => string.IsNullOrEmpty(pod.Metadata?.Uid) ? null : pod.Metadata.Uid;

    private DescribedPod? Describe(V1Pod pod)
    {
        V1ObjectMeta? meta = pod.Metadata;
        if (PodKey(pod) is not { } uid || string.IsNullOrEmpty(meta?.Name) || string.IsNullOrEmpty(meta.NamespaceProperty))
        {
            return null;
        }

        ImmutableSortedDictionary<string, string> labels = SelectLabels(meta.Labels);
        var described = new KubernetesPod(uid, meta.Name, meta.NamespaceProperty, labels);
        var list = new List<(string Id, ContainerMetadata Metadata)>();
        V1PodStatus? status = pod.Status;
        if (status is not null)
        {
            Add(status.ContainerStatuses);
            Add(status.InitContainerStatuses);
            Add(status.EphemeralContainerStatuses);
        }

        return new DescribedPod(described, list);

        void Add(IList<V1ContainerStatus>? statuses)
        {
            if (statuses is null)
            {
                return;
            }

            foreach (V1ContainerStatus containerStatus in statuses)
            {
                if (TryParseContainerId(containerStatus.ContainerID, out string id))
                {
                    list.Add((id, new ContainerMetadata(described.Name, described.Namespace, containerStatus.Name, labels)));
                }
            }
        }
    }

    private ImmutableSortedDictionary<string, string> SelectLabels(IDictionary<string, string>? podLabels)
    {
        if (labelKeys.Length == 0 || podLabels is null || podLabels.Count == 0)
        {
            return ContainerMetadata.NoLabels;
        }

        ImmutableSortedDictionary<string, string>.Builder selected = ContainerMetadata.NoLabels.ToBuilder();
        foreach (string key in labelKeys)
        {
            if (podLabels.TryGetValue(key, out string? value) && value is not null)
            {
                selected[KubernetesOptions.PodLabelAttributePrefix + key] = value;
            }
        }

        return selected.ToImmutable();
    }

    private sealed record DescribedPod(KubernetesPod Pod, List<(string Id, ContainerMetadata Metadata)> Containers);
}
