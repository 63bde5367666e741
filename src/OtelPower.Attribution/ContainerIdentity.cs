namespace OtelPower.Attribution;

/// <summary>
/// A container as its cgroup path names it: the runtime's container id and, under Kubernetes, the
/// pod's UID and QoS class. Names (pod name, namespace, container name) come later from the API.
/// </summary>
/// <param name="ContainerId">The 64-hex container id.</param>
/// <param name="Runtime">docker, containerd, cri-o, podman, or cri (kubepods cgroupfs paths do not name it).</param>
/// <param name="PodUid">The pod UID with dashes (systemd slices write underscores), when under kubepods.</param>
/// <param name="QosClass">guaranteed, burstable or besteffort, when under kubepods.</param>
/// <param name="CgroupPath">The cgroup path relative to the cgroup root, e.g. /kubepods.slice/.../cri-containerd-ID.scope.</param>
public sealed record ContainerIdentity(string ContainerId, string Runtime, string? PodUid, string? QosClass, string CgroupPath) : WorkloadIdentity
{
    public override WorkloadKind Kind => WorkloadKind.Container;

    public override string Id => ContainerId;
}
