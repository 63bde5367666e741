namespace OtelPower.Attribution;

/// <summary>
/// A workload's cumulative CPU time at one sample, in microseconds: from its cgroup (<c>cpu.stat</c>
/// usage_usec on v2, <c>cpuacct.usage</c> in ns on v1), which includes members that started and exited
/// between two samples, or from its one process when it has no cgroup of its own.
/// </summary>
public readonly record struct WorkloadCpuReading(WorkloadIdentity Workload, ulong CpuMicroseconds)
{
    public WorkloadKey Key => Workload.Key;
}
