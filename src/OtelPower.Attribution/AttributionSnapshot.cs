using System.Collections.Immutable;
using OtelPower.Attribution.Pools;

namespace OtelPower.Attribution;

/// <summary>
/// The state of the books after one interval: cumulative joules since the agent started and average
/// watts over the last interval, for the host, every zone, idle and every live process.
/// Immutable, so exporters and metric callbacks on other threads read it without locks.
/// </summary>
public sealed class AttributionSnapshot
{
    public AttributionSnapshot(
        DateTimeOffset timestamp,
        TimeSpan interval,
        long intervalCount,
        EnergySource source,
        EnergyTally host,
        ImmutableArray<ZoneEnergy> zones,
        EnergyTally idle,
        ImmutableArray<ProcessEnergy> processes,
        long clockTicksPerSecond,
        ImmutableArray<WorkloadEnergy> workloads = default,
        ImmutableArray<PodEnergy> pods = default,
        EnergyTally unattributedWorkload = default,
        ImmutableDictionary<string, ContainerMetadata>? containerMetadata = null,
        ImmutableArray<PoolEnergy> pools = default,
        EnergyTally gpuIdle = default,
        EnergyTally gpuUnattributedWorkload = default,
        EnergyTally? platformOther = null,
        EnergyTally? platformIdle = null,
        EnergyTally? platformUnattributedWorkload = null)
    {
        PlatformOther = platformOther;
        PlatformIdle = platformIdle;
        PlatformUnattributedWorkload = platformUnattributedWorkload;
        Pools = pools.IsDefault ? [] : pools;
        GpuIdle = gpuIdle;
        GpuUnattributedWorkload = gpuUnattributedWorkload;
        Timestamp = timestamp;
        Interval = interval;
        IntervalCount = intervalCount;
        Source = source;
        Host = host;
        Zones = zones;
        Idle = idle;
        Processes = processes;
        ClockTicksPerSecond = clockTicksPerSecond;
        Workloads = workloads.IsDefault ? [] : workloads;
        Pods = pods.IsDefault ? [] : pods;
        UnattributedWorkload = unattributedWorkload;
        ContainerMetadata = containerMetadata ?? ImmutableDictionary<string, ContainerMetadata>.Empty;
        Containers = [.. OfKind(WorkloadKind.Container).Select(w =>
        {
            var container = (ContainerIdentity)w.Workload;
            return new ContainerEnergy(container, MetadataOf(container), w.Energy, w.IntervalCpuMicroseconds, w.Gpu, w.Platform);
        })];
        Vms = OfKind(WorkloadKind.VirtualMachine);
    }

    /// <summary>Wall-clock time at the end of the interval.</summary>
    public DateTimeOffset Timestamp { get; }

    public TimeSpan Interval { get; }

    /// <summary>How many intervals the agent has attributed, this one included.</summary>
    public long IntervalCount { get; }

    public EnergySource Source { get; }

    public EnergyTally Host { get; }

    public ImmutableArray<ZoneEnergy> Zones { get; }

    public EnergyTally Idle { get; }

    /// <summary>Every live process, sorted by (pid, start).</summary>
    public ImmutableArray<ProcessEnergy> Processes { get; }

    public long ClockTicksPerSecond { get; }

    /// <summary>Every workload present (containers, VMs), sorted by (kind, id), measured from its CPU time.</summary>
    public ImmutableArray<WorkloadEnergy> Workloads { get; }

    /// <summary>Every container cgroup present, sorted by container id, with its names: the containers among <see cref="Workloads"/>.</summary>
    public ImmutableArray<ContainerEnergy> Containers { get; }

    /// <summary>Every virtual machine present, sorted by id: the VMs among <see cref="Workloads"/>.</summary>
    public ImmutableArray<WorkloadEnergy> Vms { get; }

    public ImmutableArray<WorkloadEnergy> OfKind(WorkloadKind kind) =>
        [.. SortedJoin.OfKind(Workloads.AsSpan(), kind, static w => w.Workload.Kind)];

    /// <summary>Every pod with a container present: the sum of its containers, cumulative for the pod's lifetime.</summary>
    public ImmutableArray<PodEnergy> Pods { get; }

    /// <summary>Host energy outside workloads and outside live host processes (idle, exited host processes).</summary>
    public EnergyTally UnattributedWorkload { get; }

    /// <summary>Every device pool (GPU) with its energy and idle energy, sorted by device id.</summary>
    public ImmutableArray<PoolEnergy> Pools { get; }

    /// <summary>GPU energy no live process used, summed over the GPUs.</summary>
    public EnergyTally GpuIdle { get; }

    /// <summary>GPU energy outside workloads and outside live host processes.</summary>
    public EnergyTally GpuUnattributedWorkload { get; }

    /// <summary>The whole-node meter's pool (ACPI power meter, Redfish), when the host has one.</summary>
    public PoolEnergy? Platform => Pools.Any(p => PlatformPool.IsPlatform(p.Device)) ? Pools.First(p => PlatformPool.IsPlatform(p.Device)) : null;

    /// <summary>The node's other energy, platform - CPU - GPUs per interval (never below 0); null without a platform meter.</summary>
    public EnergyTally? PlatformOther { get; }

    /// <summary>
    /// The part of <see cref="PlatformOther"/> no live process got, when the other energy is divided among consumers
    /// (<c>--attribute-platform</c>); null when it is not.
    /// </summary>
    public EnergyTally? PlatformIdle { get; }

    /// <summary>The platform workload view's remainder, when the other energy is divided; null when it is not.</summary>
    public EnergyTally? PlatformUnattributedWorkload { get; }

    /// <summary>Whether consumers carry platform energy (their share of the node's other energy).</summary>
    public bool AttributesPlatform => PlatformIdle is not null;

    /// <summary>Whether the host has GPU pools (consumers then carry GPU figures too).</summary>
    public bool HasGpus => Pools.Any(p => p.IsGpu);

    /// <summary>Names of containers by id, as known at this snapshot.</summary>
    public ImmutableDictionary<string, ContainerMetadata> ContainerMetadata { get; }

    /// <summary>The names of a process's or container's workload, when known.</summary>
    public ContainerMetadata? MetadataOf(ContainerIdentity? container) =>
        container is not null && ContainerMetadata.TryGetValue(container.ContainerId, out var metadata) ? metadata : null;
}

/// <summary>A workload's books: <paramref name="Energy"/> is the CPU pool's, <paramref name="Gpu"/> the GPUs'.</summary>
/// <param name="Workload">The workload; cast to its kind's record (<see cref="VmIdentity"/>) for its names.</param>
/// <param name="Energy">Joules since it was first seen and over the last interval.</param>
/// <param name="IntervalCpuMicroseconds">CPU time used in the last interval.</param>
/// <param name="Gpu">Its GPU energy through its member processes.</param>
/// <param name="Platform">Its share of the node's other energy, when that is divided (<c>--attribute-platform</c>).</param>
public readonly record struct WorkloadEnergy(WorkloadIdentity Workload, EnergyTally Energy, ulong IntervalCpuMicroseconds, EnergyTally Gpu = default, EnergyTally Platform = default)
{
    public WorkloadKey Key => Workload.Key;
}

/// <summary>A container's books, with its names: <paramref name="Energy"/> is the CPU pool's, <paramref name="Gpu"/> the GPUs'.</summary>
public readonly record struct ContainerEnergy(ContainerIdentity Container, ContainerMetadata? Metadata, EnergyTally Energy, ulong IntervalCpuMicroseconds, EnergyTally Gpu = default, EnergyTally Platform = default);

/// <summary>A pod's books: the sum of its containers.</summary>
public readonly record struct PodEnergy(string PodUid, string? PodName, string? Namespace, EnergyTally Energy, EnergyTally Gpu = default, EnergyTally Platform = default);

/// <summary>A device pool's books.</summary>
/// <param name="Reading">The reading that closed the interval (device, source, device power, GPU figures).</param>
/// <param name="Energy">The device's energy since the agent started and over the last interval.</param>
/// <param name="Idle">The part no live process used.</param>
public readonly record struct PoolEnergy(EnergyPoolReading Reading, EnergyTally Energy, EnergyTally Idle)
{
    public PoolDevice Device => Reading.Device;

    public bool IsGpu => string.Equals(Reading.Device.Type, PoolAttribution.GpuType, StringComparison.Ordinal);
}

/// <summary>Cumulative energy, the last interval's energy and its average power.</summary>
public readonly record struct EnergyTally(Energy Total, Energy Interval, Power Power)
{
    public static EnergyTally Start(Energy interval, TimeSpan duration) => new(interval, interval, interval.Over(duration));

    public EnergyTally Add(Energy interval, TimeSpan duration) => new(Total + interval, interval, interval.Over(duration));
}

/// <summary>A zone's books.</summary>
public readonly record struct ZoneEnergy(EnergyZone Zone, EnergyTally Energy);

/// <summary>A process's books.</summary>
/// <param name="Process">The process.</param>
/// <param name="Energy">Joules since it was first seen (never decreases while it lives) and over the last interval.</param>
/// <param name="IntervalCpuTicks">CPU time used in the last interval, in clock ticks.</param>
/// <param name="Gpu">Its GPU energy (every GPU pool) since first seen and over the last interval.</param>
/// <param name="Platform">Its share of the node's other energy, when that is divided (<c>--attribute-platform</c>).</param>
public readonly record struct ProcessEnergy(ProcessIdentity Process, EnergyTally Energy, ulong IntervalCpuTicks, EnergyTally Gpu = default, EnergyTally Platform = default) : IProcessRow
{
    public ProcessKey Key => Process.Key;

    /// <summary>Whether it ran on a CPU or a GPU in the last interval (the JSON output lists exactly these).</summary>
    public bool WasActive => IntervalCpuTicks > 0 || Energy.Interval.Microjoules > 0 || Gpu.Interval.Microjoules > 0;
}
