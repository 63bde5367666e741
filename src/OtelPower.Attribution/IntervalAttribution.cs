using System.Collections.Immutable;
using System.Runtime.InteropServices;

namespace OtelPower.Attribution;

/// <summary>
/// How one interval's measured energy divides among processes and idle. Pure: two samples in, joules out.
/// </summary>
/// <remarks>
/// The model (also in the README):
/// <list type="bullet">
/// <item>host energy E = the sum over package and dram zones of each counter's wrap-safe delta;</item>
/// <item>process p gets E x dCPU(p) / D, where dCPU(p) is its utime+stime delta and D is the host's total
/// CPU time delta (all CPUs, idle included), or the sum of the process deltas if that is larger
/// (the two files are read microseconds apart, so a busy host can show a few ticks of skew);</item>
/// <item>idle = E - the sum over processes: energy of CPU time no live process accounts for
/// (idle CPUs, processes that exited within the interval, processes first seen this interval).</item>
/// </list>
/// Shares are whole microjoules, rounded down; the rounding remainder goes to idle, so
/// processes + idle = host holds exactly in every interval.
/// </remarks>
public sealed class IntervalAttribution
{
    private IntervalAttribution(
        TimeSpan interval,
        Energy hostEnergy,
        ImmutableArray<ZoneDelta> zones,
        ImmutableArray<ProcessDelta> processes,
        Energy idleEnergy,
        ulong hostCpuTicks)
    {
        Interval = interval;
        HostEnergy = hostEnergy;
        Zones = zones;
        Processes = processes;
        IdleEnergy = idleEnergy;
        HostCpuTicks = hostCpuTicks;
    }

    public TimeSpan Interval { get; }

    /// <summary>Energy attributed in this interval: packages + dram (or the estimate).</summary>
    public Energy HostEnergy { get; }

    /// <summary>Every zone of the current sample with its delta, sub-zones and psys included.</summary>
    public ImmutableArray<ZoneDelta> Zones { get; }

    /// <summary>One entry per process of the current sample, in the same (sorted) order.</summary>
    public ImmutableArray<ProcessDelta> Processes { get; }

    public Energy IdleEnergy { get; }

    /// <summary>The host's total CPU-time delta (the denominator before skew correction).</summary>
    public ulong HostCpuTicks { get; }

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

        var processTicks = MergeProcessTicks(previous.Processes, current.Processes, out var processTicksSum);
        var hostTicks = current.Cpu.TotalTicks >= previous.Cpu.TotalTicks ? current.Cpu.TotalTicks - previous.Cpu.TotalTicks : 0UL;
        var denominator = Math.Max(hostTicks, processTicksSum);

        var processes = new ProcessDelta[processTicks.Length];
        long attributed = 0;
        for (var i = 0; i < processes.Length; i++)
        {
            var share = Share(hostMicrojoules, processTicks[i].Ticks, denominator);
            attributed += share;
            processes[i] = new ProcessDelta(current.Processes[i].Process, new Energy(share), processTicks[i].Ticks, processTicks[i].IsNew);
        }

        return new IntervalAttribution(
            interval,
            new Energy(hostMicrojoules),
            ImmutableCollectionsMarshal.AsImmutableArray(zones),
            ImmutableCollectionsMarshal.AsImmutableArray(processes),
            new Energy(hostMicrojoules - attributed),
            hostTicks);
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
        ImmutableArray<ProcessCpuReading> before, ImmutableArray<ProcessCpuReading> now, out ulong sum)
    {
        var result = new (ulong Ticks, bool IsNew)[now.Length];
        sum = 0;
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
                sum += ticks;
            }
            else
            {
                result[i] = (0UL, true);
            }
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
public readonly record struct ProcessDelta(ProcessIdentity Process, Energy Energy, ulong CpuTicks, bool IsNew);
