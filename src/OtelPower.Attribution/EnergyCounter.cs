namespace OtelPower.Attribution;

/// <summary>Arithmetic on wrapping energy counters.</summary>
public static class EnergyCounter
{
    /// <summary>
    /// The energy between two readings of a counter that wraps to zero after <paramref name="maxRangeMicrojoules"/>.
    /// </summary>
    /// <remarks>
    /// A 32-bit RAPL register wraps within minutes on a loaded server; node_exporter and Scaphandre
    /// report a negative or zero delta there. The powercap ABI says the counter restarts from 0 after
    /// <c>max_energy_range_uj</c>, so the true delta is <c>(max - previous) + current</c>.
    /// Without a known range, a backwards counter is treated as a reset and yields 0: we cannot know
    /// how much was lost, and inventing a figure would be worse than an honest gap.
    /// </remarks>
    public static ulong DeltaMicrojoules(ulong previousMicrojoules, ulong currentMicrojoules, ulong maxRangeMicrojoules)
    {
        if (currentMicrojoules >= previousMicrojoules)
        {
            return currentMicrojoules - previousMicrojoules;
        }

        if (maxRangeMicrojoules == 0 || previousMicrojoules > maxRangeMicrojoules)
        {
            return 0;
        }

        return maxRangeMicrojoules - previousMicrojoules + currentMicrojoules;
    }
}
