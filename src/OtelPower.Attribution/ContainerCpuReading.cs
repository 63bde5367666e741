namespace OtelPower.Attribution;

/// <summary>
/// A container's cumulative CPU time from its cgroup (<c>cpu.stat</c> usage_usec on v2,
/// <c>cpuacct.usage</c> in ns on v1), in microseconds, as the container reader returns it.
/// </summary>
public readonly record struct ContainerCpuReading(ContainerIdentity Container, ulong CpuMicroseconds)
{
    public string ContainerId => Container.ContainerId;

    public WorkloadCpuReading AsWorkload() => new(Container, CpuMicroseconds);
}
