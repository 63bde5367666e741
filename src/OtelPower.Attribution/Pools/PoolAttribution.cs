using System.Collections.Immutable;

namespace OtelPower.Attribution.Pools;

/// <summary>
/// Divides each device pool's interval energy among the processes that used the device. Pure.
/// </summary>
/// <remarks>
/// The model (also in the README): for each pool, E = the wrap-safe delta of its counter between the two
/// samples; process p gets <c>E_p = floor(E x u_p / max(capacity, sum of u))</c>, with u_p its usage over the
/// interval (a GPU: mean SM utilisation in basis points, capacity 100 %); what no live process used is the
/// pool's idle energy, so <c>sum(E_p) + idle = E</c> exactly, pool by pool. A pid that has usage but is not
/// among the sample's processes (it exited before /proc was listed) leaves its share in idle. The
/// <c>max</c> keeps the processes within E when the device reports more than 100 % in total (overlapping
/// samples). Unlike the CPU pool, a process first seen in this sample keeps its share: the device
/// measured its usage within this interval.
/// </remarks>
public static class PoolAttribution
{
    /// <summary>The pool type whose shares are booked as a consumer's GPU energy.</summary>
    public const string GpuType = "gpu";

    /// <summary>
    /// Computes every pool of <paramref name="current"/> against <paramref name="previous"/>; adds each
    /// process's GPU share into <paramref name="gpuMicrojoulesByProcess"/> (indexed like current.Processes).
    /// </summary>
    internal static ImmutableArray<PoolDelta> Compute(HostSample previous, HostSample current, Span<long> gpuMicrojoulesByProcess)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);
        if (current.Pools.IsEmpty)
        {
            return [];
        }

        var deltas = ImmutableArray.CreateBuilder<PoolDelta>(current.Pools.Length);
        foreach (var reading in current.Pools)
        {
            var before = FindPrevious(previous.Pools, reading.Device.Id);
            var energy = before is null
                ? 0L
                : checked((long)EnergyCounter.DeltaMicrojoules(before.EnergyMicrojoules, reading.EnergyMicrojoules, reading.MaxEnergyRangeMicrojoules));

            ulong totalUsage = 0;
            foreach (var usage in reading.Usage)
            {
                totalUsage += usage.UsageUnits;
            }

            var denominator = Math.Max(reading.CapacityUnits, totalUsage);
            var isGpu = string.Equals(reading.Device.Type, GpuType, StringComparison.Ordinal);
            long attributed = 0;

            // Both lists are sorted by pid; a live pid appears once among the processes.
            var processes = current.Processes;
            var j = 0;
            foreach (var usage in reading.Usage)
            {
                while (j < processes.Length && processes[j].Key.Pid < usage.Pid)
                {
                    j++;
                }

                if (j >= processes.Length || processes[j].Key.Pid != usage.Pid)
                {
                    continue;
                }

                var share = IntervalAttribution.Share(energy, usage.UsageUnits, denominator);
                attributed += share;
                if (isGpu)
                {
                    gpuMicrojoulesByProcess[j] += share;
                }
            }

            deltas.Add(new PoolDelta(reading, new Energy(energy), new Energy(energy - attributed)));
        }

        return deltas.MoveToImmutable();
    }

    private static EnergyPoolReading? FindPrevious(ImmutableArray<EnergyPoolReading> pools, string id)
    {
        foreach (var pool in pools)
        {
            if (string.Equals(pool.Device.Id, id, StringComparison.Ordinal))
            {
                return pool;
            }
        }

        return null;
    }
}

/// <summary>A pool's energy in one interval and the part no live process used.</summary>
internal readonly record struct PoolDelta(EnergyPoolReading Reading, Energy Energy, Energy IdleEnergy)
{
    public PoolDevice Device => Reading.Device;

    public bool IsGpu => string.Equals(Reading.Device.Type, PoolAttribution.GpuType, StringComparison.Ordinal);
}
