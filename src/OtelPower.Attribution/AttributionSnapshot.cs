using System.Collections.Immutable;

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
        long clockTicksPerSecond)
    {
        Timestamp = timestamp;
        Interval = interval;
        IntervalCount = intervalCount;
        Source = source;
        Host = host;
        Zones = zones;
        Idle = idle;
        Processes = processes;
        ClockTicksPerSecond = clockTicksPerSecond;
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
public readonly record struct ProcessEnergy(ProcessIdentity Process, EnergyTally Energy, ulong IntervalCpuTicks)
{
    public ProcessKey Key => Process.Key;

    /// <summary>Whether it ran in the last interval (the JSON output lists exactly these).</summary>
    public bool WasActive => IntervalCpuTicks > 0 || Energy.Interval.Microjoules > 0;
}
