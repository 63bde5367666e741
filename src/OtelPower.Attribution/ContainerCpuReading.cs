namespace OtelPower.Attribution;

/// <summary>
/// A container's cumulative CPU time from its cgroup (<c>cpu.stat</c> usage_usec on v2,
/// <c>cpuacct.usage</c> in ns on v1), in microseconds. Unlike per-process sampling it includes processes
/// that started and exited between two samples.
/// </summary>
public readonly record struct ContainerCpuReading(ContainerIdentity Container, ulong CpuMicroseconds)
{
    public string ContainerId => Container.ContainerId;
}
