using System.Buffers;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using OtelPower.Attribution.Pools;

namespace OtelPower.Attribution;

/// <summary>
/// How one interval's measured energy divides among processes and idle. Pure: two samples in, joules out.
/// </summary>
/// <remarks>
/// The model (also in the README):
/// <list type="bullet">
/// <item>host energy E = the sum over package and dram zones of each counter's wrap-safe delta;</item>
/// <item>every CPU time is compared in microseconds: processes' and the host's ticks (USER_HZ) and
/// workloads' cgroup usage, over one denominator D = max(host CPU, sum of processes, sum of workloads +
/// processes outside workloads). A workload is any <see cref="WorkloadKind"/> (container, VM); each process
/// belongs to at most one. /proc/stat, /proc/PID/stat and cpu.stat are read microseconds apart, so a
/// busy host shows a little skew; the max keeps every view within E;</item>
/// <item>process p gets E x dCPU(p) / D; workload w gets E x dCPU(w) / D from its cgroup, which also
/// counts members that exited within the interval (a VM without a cgroup: from its qemu process);</item>
/// <item>idle = E - the sum over processes (process view); unattributed = E - workloads - processes
/// outside workloads (workload view).</item>
/// </list>
/// Shares are whole microjoules, rounded down; the rounding remainder goes to idle (and to unattributed),
/// so both views add up to E exactly in every interval.
/// <para>With a whole-node meter and <c>attributePlatformOther</c> (<c>--attribute-platform</c>), the node's other
/// energy O = platform - host - GPUs (never below 0) is divided the same way, by CPU time over the same D:
/// p gets O x dCPU(p) / D as its platform energy; what no live process gets is the platform idle, so
/// sum(platform shares) + platform idle = O, and the workload view likewise.</para>
/// </remarks>
internal sealed class IntervalAttribution
{
    private IntervalAttribution(
        TimeSpan interval,
        Energy hostEnergy,
        ImmutableArray<ZoneDelta> zones,
        ImmutableArray<ProcessDelta> processes,
        Energy idleEnergy,
        ImmutableArray<WorkloadDelta> workloads,
        Energy unattributedWorkloadEnergy,
        ImmutableArray<PoolDelta> pools,
        Energy gpuEnergy,
        Energy gpuIdleEnergy,
        Energy gpuUnattributedWorkloadEnergy,
        Energy? platformOtherEnergy,
        bool attributesPlatform,
        Energy platformIdleEnergy,
        Energy platformUnattributedWorkloadEnergy)
    {
        PlatformOtherEnergy = platformOtherEnergy;
        AttributesPlatform = attributesPlatform;
        PlatformIdleEnergy = platformIdleEnergy;
        PlatformUnattributedWorkloadEnergy = platformUnattributedWorkloadEnergy;
        Pools = pools;
        GpuEnergy = gpuEnergy;
        GpuIdleEnergy = gpuIdleEnergy;
        GpuUnattributedWorkloadEnergy = gpuUnattributedWorkloadEnergy;
        Interval = interval;
        HostEnergy = hostEnergy;
        Zones = zones;
        Processes = processes;
        IdleEnergy = idleEnergy;
        Workloads = workloads;
        UnattributedWorkloadEnergy = unattributedWorkloadEnergy;
    }

    public TimeSpan Interval { get; }

    /// <summary>Energy attributed in this interval: packages + dram (or the estimate).</summary>
    public Energy HostEnergy { get; }

    /// <summary>Every zone of the current sample with its delta, sub-zones and psys included.</summary>
    public ImmutableArray<ZoneDelta> Zones { get; }

    /// <summary>One entry per process of the current sample, in the same (sorted) order.</summary>
    public ImmutableArray<ProcessDelta> Processes { get; }

    /// <summary>Host energy no live process accounts for: host - sum(processes).</summary>
    public Energy IdleEnergy { get; }

    /// <summary>One entry per workload of the current sample, in the same (kind, id) order.</summary>
    public ImmutableArray<WorkloadDelta> Workloads { get; }

    /// <summary>The containers among <see cref="Workloads"/>, measured from their cgroups.</summary>
    public ImmutableArray<WorkloadDelta> Containers => [.. SortedJoin.OfKind(Workloads.AsSpan(), WorkloadKind.Container, static w => w.Workload.Kind)];

    /// <summary>
    /// The workload view's remainder: host - sum(workloads) - sum(processes outside workloads).
    /// Workload energy includes members that exited within the interval, so this is at most <see cref="IdleEnergy"/>.
    /// </summary>
    public Energy UnattributedWorkloadEnergy { get; }

    /// <summary>Every device pool of the current sample, each divided on its own (see <see cref="PoolAttribution"/>).</summary>
    public ImmutableArray<PoolDelta> Pools { get; }

    /// <summary>The energy of every GPU pool in this interval.</summary>
    public Energy GpuEnergy { get; }

    /// <summary>GPU energy no live process used: GPU energy - sum(processes' GPU energy).</summary>
    public Energy GpuIdleEnergy { get; }

    /// <summary>The GPU workload view's remainder: GPU energy - workloads' - processes' outside workloads.</summary>
    public Energy GpuUnattributedWorkloadEnergy { get; }

    /// <summary>The node's other energy (platform - host - GPUs, never below 0), or null without a platform meter.</summary>
    public Energy? PlatformOtherEnergy { get; }

    /// <summary>Whether <see cref="PlatformOtherEnergy"/> was divided among consumers (<c>--attribute-platform</c> on a host with a platform meter).</summary>
    public bool AttributesPlatform { get; }

    /// <summary>Other energy no live process accounts for: other - sum(processes' platform energy). 0 when not divided.</summary>
    public Energy PlatformIdleEnergy { get; }

    /// <summary>The platform workload view's remainder: other - workloads' - processes' outside workloads. 0 when not divided.</summary>
    public Energy PlatformUnattributedWorkloadEnergy { get; }

    public static IntervalAttribution Compute(HostSample previous, HostSample current) => Compute(previous, current, attributePlatformOther: false);

    /// <param name="previous">The sample that opens the interval.</param>
    /// <param name="current">The sample that closes it.</param>
    /// <param name="attributePlatformOther">Divide the platform meter's other energy among consumers by CPU time.</param>
    public static IntervalAttribution Compute(HostSample previous, HostSample current, bool attributePlatformOther)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);

        var interval = current.MonotonicTime - previous.MonotonicTime;
        if (interval < TimeSpan.Zero)
        {
            throw new ArgumentException("The current sample precedes the previous one.", nameof(current));
        }

        // The per-process working arrays (three of them, 20 KB at 1,000 processes) are rented: each sample would
        // otherwise leave them to the GC, and gen0 collections follow the bytes a sample allocates.
        var processCount = current.Processes.Length;
        var rentedMatch = ArrayPool<int>.Shared.Rent(processCount);
        var rentedTicks = ArrayPool<ulong>.Shared.Rent(processCount);
        var rentedGpu = ArrayPool<long>.Shared.Rent(processCount);
        try
        {
            return Compute(previous, current, attributePlatformOther, interval, rentedMatch.AsSpan(0, processCount), rentedTicks.AsSpan(0, processCount), rentedGpu.AsSpan(0, processCount));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rentedMatch);
            ArrayPool<ulong>.Shared.Return(rentedTicks);
            ArrayPool<long>.Shared.Return(rentedGpu);
        }
    }

    private static IntervalAttribution Compute(
        HostSample previous, HostSample current, bool attributePlatformOther, TimeSpan interval, Span<int> processMatch, Span<ulong> processTicks, Span<long> gpuByProcess)
    {
        var zones = new ZoneDelta[current.Zones.Length];
        long hostMicrojoules = 0;
        for (var i = 0; i < zones.Length; i++)
        {
            var reading = current.Zones[i];
            var delta = FindPrevious(previous.Zones, reading.Zone.Id) is { } before
                ? EnergyCounter.DeltaMicrojoules(before.EnergyMicrojoules, reading.EnergyMicrojoules, reading.MaxEnergyRangeMicrojoules)
                : 0UL;
            var energy = new Energy(checked((long)delta));
            zones[i] = new ZoneDelta(reading.Zone, energy);
            if (reading.Zone.CountsTowardHost)
            {
                hostMicrojoules = checked(hostMicrojoules + energy.Microjoules);
            }
        }

        // Every CPU time is compared in microseconds: process and host ticks (USER_HZ) and workloads' usage_usec.
        SortedJoin.MatchProcesses(previous.Processes.AsSpan(), current.Processes.AsSpan(), processMatch);
        var workloadMatch = SortedJoin.Match(previous.Workloads.AsSpan(), current.Workloads.AsSpan(), static w => w.Key, static w => w.Key);
        ulong allProcesses = 0, processesOutsideWorkloads = 0, allWorkloads = 0;
        for (var i = 0; i < processTicks.Length; i++)
        {
            // A counter that went backwards cannot happen for one (pid, start); treat it as no time.
            processTicks[i] = processMatch[i] >= 0
                ? Progress(previous.Processes[processMatch[i]].CpuTicks, current.Processes[i].CpuTicks)
                : StartedAfter(previous, current.Processes[i]) ? current.Processes[i].CpuTicks : 0UL;
            var microseconds = current.TicksToMicroseconds(processTicks[i]);
            allProcesses += microseconds;

            // An idle process adds nothing: its identity (a cache miss per process) is only read for one that ran.
            if (microseconds != 0 && current.Processes[i].Process.Workload is null)
            {
                processesOutsideWorkloads += microseconds;
            }
        }

        var workloadTime = new ulong[workloadMatch.Length];
        for (var i = 0; i < workloadTime.Length; i++)
        {
            // A container cgroup that appeared since the previous walk holds only this interval's CPU time.
            workloadTime[i] = workloadMatch[i] >= 0
                ? Progress(previous.Workloads[workloadMatch[i]].CpuMicroseconds, current.Workloads[i].CpuMicroseconds)
                : current.Workloads[i].Workload.Kind == WorkloadKind.Container && previous.UptimeTicks > 0 ? current.Workloads[i].CpuMicroseconds : 0UL;
            allWorkloads += workloadTime[i];
        }

        var hostTicks = Progress(previous.Cpu.TotalTicks, current.Cpu.TotalTicks);
        var denominator = Math.Max(current.TicksToMicroseconds(hostTicks), Math.Max(allProcesses, allWorkloads + processesOutsideWorkloads));

        gpuByProcess.Clear();
        var pools = PoolAttribution.Compute(previous, current, gpuByProcess);
        long gpuMicrojoules = 0;
        long? platformMicrojoules = null;
        foreach (var pool in pools)
        {
            if (pool.IsGpu)
            {
                gpuMicrojoules += pool.Energy.Microjoules;
            }
            else if (PlatformPool.IsPlatform(pool.Device))
            {
                platformMicrojoules = pool.Energy.Microjoules;
            }
        }

        // The node's other energy: what the measured pools do not explain, never below zero (the meters lag).
        Energy? platformOther = platformMicrojoules is { } platform ? new Energy(Math.Max(0, platform - hostMicrojoules - gpuMicrojoules)) : null;

        var attributesPlatform = attributePlatformOther && platformOther is not null;
        var otherMicrojoules = attributesPlatform ? platformOther!.Value.Microjoules : 0;
        var processes = new ProcessDelta[processTicks.Length];
        long attributed = 0, attributedOutsideWorkloads = 0, gpuOutsideWorkloads = 0, gpuToProcesses = 0;
        long platformToProcesses = 0, platformOutsideWorkloads = 0;
        for (var i = 0; i < processes.Length; i++)
        {
            var cpuMicroseconds = current.TicksToMicroseconds(processTicks[i]);
            var share = Share(hostMicrojoules, cpuMicroseconds, denominator);
            var platformShare = Share(otherMicrojoules, cpuMicroseconds, denominator);
            attributed += share;
            platformToProcesses += platformShare;
            var process = current.Processes[i].Process;
            gpuToProcesses += gpuByProcess[i];
            if ((share | gpuByProcess[i] | platformShare) != 0 && process.Workload is null)
            {
                attributedOutsideWorkloads += share;
                gpuOutsideWorkloads += gpuByProcess[i];
                platformOutsideWorkloads += platformShare;
            }

            processes[i] = new ProcessDelta(process, new Energy(share), processTicks[i], processMatch[i] < 0, new Energy(gpuByProcess[i]), new Energy(platformShare));
        }

        // Workloads get GPU energy through their member processes (the device knows pids, not cgroups).
        var gpuByWorkload = GpuByWorkload(current, processes);
        var workloads = new WorkloadDelta[workloadTime.Length];
        long attributedToWorkloads = 0, gpuToWorkloads = 0, platformToWorkloads = 0;
        for (var i = 0; i < workloads.Length; i++)
        {
            var share = Share(hostMicrojoules, workloadTime[i], denominator);
            var platformShare = Share(otherMicrojoules, workloadTime[i], denominator);
            attributedToWorkloads += share;
            platformToWorkloads += platformShare;
            gpuToWorkloads += gpuByWorkload[i];
            workloads[i] = new WorkloadDelta(
                current.Workloads[i].Workload, new Energy(share), workloadTime[i], workloadMatch[i] < 0, new Energy(gpuByWorkload[i]), new Energy(platformShare));
        }

        return new IntervalAttribution(
            interval,
            new Energy(hostMicrojoules),
            ImmutableCollectionsMarshal.AsImmutableArray(zones),
            ImmutableCollectionsMarshal.AsImmutableArray(processes),
            new Energy(hostMicrojoules - attributed),
            ImmutableCollectionsMarshal.AsImmutableArray(workloads),
            new Energy(hostMicrojoules - attributedToWorkloads - attributedOutsideWorkloads),
            pools,
            new Energy(gpuMicrojoules),
            new Energy(gpuMicrojoules - gpuToProcesses),
            new Energy(gpuMicrojoules - gpuToWorkloads - gpuOutsideWorkloads),
            platformOther,
            attributesPlatform,
            new Energy(otherMicrojoules - platformToProcesses),
            new Energy(otherMicrojoules - platformToWorkloads - platformOutsideWorkloads));
    }

    /// <summary>Each workload's GPU energy: the sum of its live member processes' GPU shares (indexed like current.Workloads).</summary>
    private static long[] GpuByWorkload(HostSample current, ProcessDelta[] processes)
    {
        var byWorkload = new long[current.Workloads.Length];
        if (byWorkload.Length == 0)
        {
            return byWorkload;
        }

        foreach (var process in processes)
        {
            if (process.GpuEnergy.Microjoules == 0 || process.Process.Workload is not { } workload)
            {
                continue;
            }

            var index = SortedJoin.Find(current.Workloads.AsSpan(), workload.Key, static w => w.Key);
            if (index >= 0)
            {
                byWorkload[index] += process.GpuEnergy.Microjoules;
            }
        }

        return byWorkload;
    }

    private static ulong Progress(ulong before, ulong now) => now >= before ? now - before : 0UL;

    /// <summary>
    /// A process first seen now that started after the previous sample began: all its CPU time is in this
    /// interval (short-lived batch work would otherwise lose its first, often only, interval).
    /// </summary>
    private static bool StartedAfter(HostSample previous, ProcessCpuReading process) =>
        previous.UptimeTicks > 0 && process.Key.StartTicks >= previous.UptimeTicks;

    /// <summary>floor(energy x ticks / denominator) in 128-bit arithmetic, so nothing overflows or rounds up.</summary>
    internal static long Share(long energyMicrojoules, ulong ticks, ulong denominator)
    {
        if (denominator == 0 || ticks == 0 || energyMicrojoules <= 0)
        {
            return 0;
        }

        var share = (UInt128)(ulong)energyMicrojoules * ticks / denominator;
        return (long)share;
    }

    private static EnergyZoneReading? FindPrevious(ImmutableArray<EnergyZoneReading> zones, string id)
    {
        foreach (var zone in zones)
        {
            if (string.Equals(zone.Zone.Id, id, StringComparison.Ordinal))
            {
                return zone;
            }
        }

        return null;
    }
}

/// <summary>A zone's energy in one interval.</summary>
internal readonly record struct ZoneDelta(EnergyZone Zone, Energy Energy);

/// <summary>A process's share of one interval.</summary>
/// <param name="Process">The process.</param>
/// <param name="Energy">Its share of host energy.</param>
/// <param name="CpuTicks">Its CPU time in the interval, in clock ticks.</param>
/// <param name="IsNew">First seen in this sample: it counts from here if it started after the previous sample, else from the next one.</param>
/// <param name="GpuEnergy">Its share of every GPU pool in this interval.</param>
/// <param name="PlatformEnergy">Its share of the node's other energy, when that is divided (<c>--attribute-platform</c>).</param>
internal readonly record struct ProcessDelta(ProcessIdentity Process, Energy Energy, ulong CpuTicks, bool IsNew, Energy GpuEnergy = default, Energy PlatformEnergy = default) : IProcessRow;

/// <summary>A workload's share of one interval: CPU from its cgroup's (or its process's) CPU time, GPU from its processes.</summary>
internal readonly record struct WorkloadDelta(WorkloadIdentity Workload, Energy Energy, ulong CpuMicroseconds, bool IsNew, Energy GpuEnergy = default, Energy PlatformEnergy = default);
