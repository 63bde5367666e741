namespace OtelPower.Attribution;

/// <summary>
/// What kind of workload a cgroup (or a process) is. Every kind is measured the same way, from its CPU
/// time, and booked the same way; only the sensors that find it and the exporters that name it differ.
/// </summary>
public enum WorkloadKind
{
    /// <summary>A container (Docker, containerd, CRI-O, Podman), under Kubernetes or not.</summary>
    Container,

    /// <summary>A KVM/QEMU guest on this host (libvirt or started by hand).</summary>
    VirtualMachine,
}
