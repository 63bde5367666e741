using System.Collections.Immutable;

namespace OtelPower.Agent.Kubernetes;

/// <summary>
/// A pod as the API server names it. Keyed by UID, which the cgroup path also carries: a pod-level cgroup
/// (or a container whose id the API has not reported yet) can still be named.
/// </summary>
/// <param name="Uid">k8s.pod.uid.</param>
/// <param name="Name">k8s.pod.name.</param>
/// <param name="Namespace">k8s.namespace.name.</param>
/// <param name="Labels">Selected pod labels, keyed by attribute key (<c>k8s.pod.label.&lt;key&gt;</c>).</param>
internal sealed record KubernetesPod(string Uid, string Name, string Namespace, ImmutableSortedDictionary<string, string> Labels);
