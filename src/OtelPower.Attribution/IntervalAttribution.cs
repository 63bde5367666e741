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
/// containers' cgroup usage, over one denominator D = max(host CPU, sum of processes, sum of containers +
/// processes outside containers). /proc/stat, /proc/PID/stat and cpu.stat are read microseconds apart, so a
/// busy host shows a little skew; the max keeps every view within E;</item>
/// <item>process p gets E x dCPU(p) / D; container c gets E x dCPU(c) / D from its cgroup, which also
/// counts members that exited within the interval;</item>
/// <item>idle = E - the sum over processes (process view); unattributed = E - containers - processes
/// outside containers (workload view).</item>
/// </list>
/// Shares are whole microjoules, rounded down; the rounding remainder goes to idle (and to unattributed),
/// so both views add up to E exactly in every interval.
/// </remarks>
public sealed class IntervalAttribution
{
    private IntervalAttribution(
        TimeSpan interval,
        Energy hostEnergy,
        ImmutableArray<ZoneDelta> zones,
        ImmutableArray<ProcessDelta> processes,
        Energy idleEnergy,
        ImmutableArray<ContainerDelta> containers,
        Energy unattributedWorkloadEnergy,
        ImmutableArray<PoolDelta> pools,
        Energy gpuEnergy,
        Energy gpuIdleEnergy,
        Energy gpuUnattributedWorkloadEnergy)
    {
        Pools = pools;
        GpuEnergy = gpuEnergy;
        GpuIdleEnergy = gpuIdleEnergy;
        GpuUnattributedWorkloadEnergy = gpuUnattributedWorkloadEnergy;
        Interval = interval;
        HostEnergy = hostEnergy;
        Zones = zones;
        Processes = processes;
        IdleEnergy = idleEnergy;
        Containers = containers;
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

    /// <summary>One entry per container of the current sample, measured from its cgroup.</summary>
    public ImmutableArray<ContainerDelta> Containers { get; }

    /// <summary>
    /// The workload view's remainder: host - sum(containers) - sum(processes outside containers).
    /// Container energy includes members that exited within the interval, so this is at most <see cref="IdleEnergy"/>.
    /// </summary>
    public Energy UnattributedWorkloadEnergy { get; }

    /// <summary>Every device pool of the current sample, each divided on its own (see <see cref="PoolAttribution"/>).</summary>
    public ImmutableArray<PoolDelta> Pools { get; }

    /// <summary>The energy of every GPU pool in this interval.</summary>
    public Energy GpuEnergy { get; }

    /// <summary>GPU energy no live process used: GPU energy - sum(processes' GPU energy).</summary>
    public Energy GpuIdleEnergy { get; }

    /// <summary>The GPU workload view's remainder: GPU energy - containers' - processes' outside containers.</summary>
    public Energy GpuUnattributedWorkloadEnergy { get; }

    public static IntervalAttribution Compute(HostSample previous, HostSample current)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);

        var interval = current.MonotonicTime - previous.MonotonicTime;
        if (interval < TimeSpan.Zero)
        {
            throw new ArgumentException("The current sample precedes the previous one.", nameof(current));
        }

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

        // Every CPU time is compared in microseconds: process and host ticks (USER_HZ) and cgroup usage_usec.
        var processTicks = MergeProcessTicks(previous.Processes, current.Processes);
        var containerTime = MergeContainerTime(previous.Containers, current.Containers);
        ulong allProcesses = 0, hostProcesses = 0, allContainers = 0;
        for (var i = 0; i < processTicks.Length; i++)
        {
            var microseconds = current.TicksToMicroseconds(processTicks[i].Ticks);
            allProcesses += microseconds;
            if (current.Processes[i].Process.Container is null)
            {
                hostProcesses += microseconds;
            }
        }

        foreach (var (microseconds, _) in containerTime)
        {
            allContainers += microseconds;
        }

        var hostTicks = current.Cpu.TotalTicks >= previous.Cpu.TotalTicks ? current.Cpu.TotalTicks - previous.Cpu.TotalTicks : 0UL;
        var denominator = Math.Max(current.TicksToMicroseconds(hostTicks), Math.Max(allProcesses, allContainers + hostProcesses));

        var gpuByProcess = new long[processTicks.Length];
        var pools = PoolAttribution.Compute(previous, current, gpuByProcess);
        var processes = new ProcessDelta[processTicks.Length];
        long attributed = 0, attributedOutsideContainers = 0, gpuOutsideContainers = 0, gpuToProcesses = 0;
        for (var i = 0; i < processes.Length; i++)
        {
            var share = Share(hostMicrojoules, current.TicksToMicroseconds(processTicks[i].Ticks), denominator);
            attributed += share;
            var process = current.Processes[i].Process;
            gpuToProcesses += gpuByProcess[i];
            if (process.Container is null)
            {
                attributedOutsideContainers += share;
                gpuOutsideContainers += gpuByProcess[i];
            }

            processes[i] = new ProcessDelta(process, new Energy(share), processTicks[i].Ticks, processTicks[i].IsNew, new Energy(gpuByProcess[i]));
        }

        // Containers get GPU energy through their member processes (the device knows pids, not cgroups).
        var gpuByContainer = GpuByContainer(current, processes);
        var containers = new ContainerDelta[containerTime.Length];
        long attributedToContainers = 0, gpuToContainers = 0;
        for (var i = 0; i < containers.Length; i++)
        {
            var share = Share(hostMicrojoules, containerTime[i].Microseconds, denominator);
            attributedToContainers += share;
            gpuToContainers += gpuByContainer[i];
            containers[i] = new ContainerDelta(current.Containers[i].Container, new Energy(share), containerTime[i].Microseconds, containerTime[i].IsNew, new Energy(gpuByContainer[i]));
        }

        long gpuMicrojoules = 0;
        foreach (var pool in pools)
        {
            if (pool.IsGpu)
            {
                gpuMicrojoules += pool.Energy.Microjoules;
            }
        }

        return new IntervalAttribution(
            interval,
            new Energy(hostMicrojoules),
            ImmutableCollectionsMarshal.AsImmutableArray(zones),
            ImmutableCollectionsMarshal.AsImmutableArray(processes),
            new Energy(hostMicrojoules - attributed),
            ImmutableCollectionsMarshal.AsImmutableArray(containers),
            new Energy(hostMicrojoules - attributedToContainers - attributedOutsideContainers),
            pools,
            new Energy(gpuMicrojoules),
            new Energy(gpuMicrojoules - gpuToProcesses),
            new Energy(gpuMicrojoules - gpuToContainers - gpuOutsideContainers));
    }

    /// <summary>Each container's GPU energy: the sum of its live member processes' GPU shares (indexed like current.Containers).</summary>
    private static long[] GpuByContainer(HostSample current, ProcessDelta[] processes)
    {
        var byContainer = new long[current.Containers.Length];
        if (byContainer.Length == 0)
        {
            return byContainer;
        }

        foreach (var process in processes)
        {
            if (process.GpuEnergy.Microjoules == 0 || process.Process.Container is not { } container)
            {
                continue;
            }

            var index = BinarySearchContainer(current.Containers, container.ContainerId);
            if (index >= 0)
            {
                byContainer[index] += process.GpuEnergy.Microjoules;
            }
        }

        return byContainer;
    }

    private static int BinarySearchContainer(ImmutableArray<ContainerCpuReading> containers, string id)
    {
        int low = 0, high = containers.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            var order = string.CompareOrdinal(containers[middle].ContainerId, id);
            if (order == 0)
            {
                return middle;
            }

            if (order < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return -1;
    }

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

    /// <summary>Merge-joins two key-sorted process lists; a process absent before is new and gets no ticks.</summary>
    private static (ulong Ticks, bool IsNew)[] MergeProcessTicks(
        ImmutableArray<ProcessCpuReading> before, ImmutableArray<ProcessCpuReading> now)
    {
        var result = new (ulong Ticks, bool IsNew)[now.Length];
        var j = 0;
        for (var i = 0; i < now.Length; i++)
        {
            var key = now[i].Key;
            while (j < before.Length && before[j].Key < key)
            {
                j++;
            }

            if (j < before.Length && before[j].Key == key)
            {
                // A counter that went backwards cannot happen for one (pid, start); treat it as no time.
                var ticks = now[i].CpuTicks >= before[j].CpuTicks ? now[i].CpuTicks - before[j].CpuTicks : 0UL;
                result[i] = (ticks, false);
            }
            else
            {
                result[i] = (0UL, true);
            }
        }

        return result;
    }

    /// <summary>Merge-joins two id-sorted container lists; a container absent before is new and gets no time.</summary>
    private static (ulong Microseconds, bool IsNew)[] MergeContainerTime(
        ImmutableArray<ContainerCpuReading> before, ImmutableArray<ContainerCpuReading> now)
    {
        var result = new (ulong Microseconds, bool IsNew)[now.Length];
        var j = 0;
        for (var i = 0; i < now.Length; i++)
        {
            var id = now[i].ContainerId;
            while (j < before.Length && string.CompareOrdinal(before[j].ContainerId, id) < 0)
            {
                j++;
            }

            result[i] = j < before.Length && before[j].ContainerId == id
                ? (now[i].CpuMicroseconds >= before[j].CpuMicroseconds ? now[i].CpuMicroseconds - before[j].CpuMicroseconds : 0UL, false)
                : (0UL, true);
        }

        return result;
    }
}

/// <summary>A zone's energy in one interval.</summary>
public readonly record struct ZoneDelta(EnergyZone Zone, Energy Energy);

/// <summary>A process's share of one interval.</summary>
/// <param name="Process">The process.</param>
/// <param name="Energy">Its share of host energy.</param>
/// <param name="CpuTicks">Its CPU time in the interval, in clock ticks.</param>
/// <param name="IsNew">First seen in this sample: it counts from the next one.</param>
/// <param name="GpuEnergy">Its share of every GPU pool in this interval.</param>
public readonly record struct ProcessDelta(ProcessIdentity Process, Energy Energy, ulong CpuTicks, bool IsNew, Energy GpuEnergy = default);

/// <summary>A container's share of one interval: CPU from its cgroup's CPU time, GPU from its processes.</summary>
public readonly record struct ContainerDelta(ContainerIdentity Container, Energy Energy, ulong CpuMicroseconds, bool IsNew, Energy GpuEnergy = default);
