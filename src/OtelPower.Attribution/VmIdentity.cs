using System.Globalization;

namespace OtelPower.Attribution;

/// <summary>
/// A KVM/QEMU guest. Measured from its cgroup when libvirt gave it one (the scope also holds the VM's vhost
/// and I/O threads, outside the qemu process), else from its qemu process alone.
/// </summary>
/// <param name="Name">From qemu's <c>-name guest=NAME</c> (or <c>-name NAME</c>), else the libvirt machine name.</param>
/// <param name="Uuid">From qemu's <c>-uuid</c>, when given.</param>
/// <param name="Process">The qemu process, when it was seen.</param>
/// <param name="CgroupPath">The VM's own cgroup (the libvirt scope, not emulator/vcpuN below it), or null.</param>
public sealed record VmIdentity(string Name, string? Uuid, ProcessKey? Process, string? CgroupPath) : WorkloadIdentity
{
    // A VM without a cgroup is its qemu process: a reused pid is another VM (domain-notes §2).
    private readonly string _id = CgroupPath
        ?? (Process is { } key ? string.Create(CultureInfo.InvariantCulture, $"process/{key.Pid}/{key.StartTicks}") : "name/" + Name);

    public override WorkloadKind Kind => WorkloadKind.VirtualMachine;

    public override string Id => _id;

    public int? Pid => Process?.Pid;
}
