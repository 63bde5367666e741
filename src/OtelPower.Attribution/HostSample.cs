using System.Collections.Immutable;
using OtelPower.Attribution.Pools;

namespace OtelPower.Attribution;

/// <summary>
/// Everything read from the host at one instant. Immutable; two of them make an interval.
/// </summary>
public sealed class HostSample
{
    public HostSample(
        DateTimeOffset timestamp,
        TimeSpan monotonicTime,
        EnergySource source,
        ImmutableArray<EnergyZoneReading> zones,
        CpuTimes cpu,
        int cpuCount,
        ImmutableArray<ProcessCpuReading> processes,
        long clockTicksPerSecond,
        ImmutableArray<WorkloadCpuReading> workloads = default,
        ImmutableDictionary<string, ContainerMetadata>? containerMetadata = null,
        ImmutableArray<EnergyPoolReading> pools = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(clockTicksPerSecond);
        Timestamp = timestamp;
        MonotonicTime = monotonicTime;
        Source = source;
        Zones = zones.IsDefault ? [] : zones;
        Cpu = cpu;
        CpuCount = cpuCount;
        Processes = processes.IsDefault ? [] : processes;
        ClockTicksPerSecond = clockTicksPerSecond;
        Workloads = workloads.IsDefault ? [] : workloads;
        ContainerMetadata = containerMetadata ?? ImmutableDictionary<string, ContainerMetadata>.Empty;
        Pools = pools.IsDefault ? [] : pools;
        AssertSortedByKey(Processes);
        AssertSortedByKey(Workloads);
    }

    /// <summary>Wall-clock time of the sample, for display and export.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Monotonic time of the sample; intervals are measured on it, never on the wall clock.</summary>
    public TimeSpan MonotonicTime { get; }

    public EnergySource Source { get; }

    public ImmutableArray<EnergyZoneReading> Zones { get; }

    public CpuTimes Cpu { get; }

    public int CpuCount { get; }

    /// <summary>Live processes, sorted by <see cref="ProcessKey"/> so two samples merge in one pass.</summary>
    public ImmutableArray<ProcessCpuReading> Processes { get; }

    /// <summary>USER_HZ, from sysconf(_SC_CLK_TCK).</summary>
    public long ClockTicksPerSecond { get; }

    /// <summary>Workloads (containers, VMs) with their CPU time, sorted by <see cref="WorkloadKey"/>: by kind, then id (ordinal).</summary>
    public ImmutableArray<WorkloadCpuReading> Workloads { get; }

    /// <summary>The containers among <see cref="Workloads"/>.</summary>
    public ImmutableArray<WorkloadCpuReading> Containers => OfKind(WorkloadKind.Container);

    /// <summary>The virtual machines among <see cref="Workloads"/>.</summary>
    public ImmutableArray<WorkloadCpuReading> Vms => OfKind(WorkloadKind.VirtualMachine);

    public ImmutableArray<WorkloadCpuReading> OfKind(WorkloadKind kind) =>
        [.. SortedJoin.OfKind(Workloads.AsSpan(), kind, static w => w.Workload.Kind)];

    /// <summary>Names of containers by container id, as far as they are known at this sample.</summary>
    public ImmutableDictionary<string, ContainerMetadata> ContainerMetadata { get; }

    /// <summary>Device energy pools (GPUs), each with its own counter and per-process usage, sorted by device id.</summary>
    public ImmutableArray<EnergyPoolReading> Pools { get; }

    /// <summary>
    /// Time since boot when the sample began, in clock ticks (the clock of a process's start time); 0 when
    /// unknown. A process that started after the previous sample's uptime is new in this interval.
    /// </summary>
    public ulong UptimeTicks { get; init; }

    /// <summary>
    /// The pods the orchestrator lists on this node at this instant, by pod UID (container name unset), whether or not
    /// their containers run yet; empty outside Kubernetes. A pod listed before its cgroup burns is booked at 0 J, so its
    /// energy series exists before it carries joules.
    /// </summary>
    public IReadOnlyDictionary<string, ContainerMetadata> ListedPods { get; init; } = ImmutableDictionary<string, ContainerMetadata>.Empty;

    /// <summary>Converts clock ticks to microseconds, the unit every CPU-time share is computed in.</summary>
    public ulong TicksToMicroseconds(ulong ticks) => (ulong)((UInt128)ticks * 1_000_000 / (ulong)ClockTicksPerSecond);

    private static void AssertSortedByKey(ImmutableArray<WorkloadCpuReading> workloads)
    {
        for (var i = 1; i < workloads.Length; i++)
        {
            if (workloads[i - 1].Key >= workloads[i].Key)
            {
                throw new ArgumentException("Workloads must be sorted by (kind, id) without duplicates.", nameof(workloads));
            }
        }
    }

    private static void AssertSortedByKey(ImmutableArray<ProcessCpuReading> processes)
    {
        for (var i = 1; i < processes.Length; i++)
        {
            if (processes[i - 1].Key >= processes[i].Key)
            {
                throw new ArgumentException(
                    $"Processes must be sorted by (pid, start) without duplicates; {processes[i - 1].Key} precedes {processes[i].Key}.",
                    nameof(processes));
            }
        }
    }
}
