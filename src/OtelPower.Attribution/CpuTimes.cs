namespace OtelPower.Attribution;

/// <summary>
/// Cumulative host CPU time from the first line of <c>/proc/stat</c>, in clock ticks (USER_HZ).
/// </summary>
/// <param name="TotalTicks">user + nice + system + idle + iowait + irq + softirq + steal; guest time is already inside user and nice.</param>
/// <param name="IdleTicks">idle.</param>
/// <param name="IowaitTicks">iowait.</param>
public readonly record struct CpuTimes(ulong TotalTicks, ulong IdleTicks, ulong IowaitTicks)
{
    /// <summary>Ticks in which a CPU ran something: total - idle - iowait.</summary>
    public ulong BusyTicks => TotalTicks - Math.Min(TotalTicks, IdleTicks + IowaitTicks);
}
