using System.Collections.Immutable;

namespace OtelPower.Attribution.Pools;

/// <summary>
/// One energy pool read at one instant: a device with its own energy counter and its own usage measure
/// (a GPU today; another vendor's GPU or a platform meter tomorrow). The engine divides each interval's
/// delta of <see cref="EnergyMicrojoules"/> among the processes in <see cref="Usage"/> by
/// <c>E_p = E x u_p / max(capacity, sum of u)</c>; what no process used is the pool's idle energy.
/// </summary>
/// <remarks>
/// Readers that only see power (NVML without an energy counter, hwmon power channels) integrate it
/// themselves and hand over a cumulative counter, so the engine sees one shape for every pool and stays
/// pure (no clock). <see cref="Usage"/> covers the interval that ends at this reading.
/// </remarks>
public sealed class EnergyPoolReading
{
    public EnergyPoolReading(
        PoolDevice device,
        PoolEnergySource source,
        ulong energyMicrojoules,
        ulong maxEnergyRangeMicrojoules,
        ulong capacityUnits,
        ImmutableArray<PoolProcessUsage> usage,
        Power? power = null,
        GpuStatistics? gpu = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        Device = device;
        Source = source;
        EnergyMicrojoules = energyMicrojoules;
        MaxEnergyRangeMicrojoules = maxEnergyRangeMicrojoules;
        CapacityUnits = capacityUnits;
        Usage = usage.IsDefault ? [] : usage;
        Power = power;
        Gpu = gpu;
        for (var i = 1; i < Usage.Length; i++)
        {
            if (Usage[i - 1].Pid >= Usage[i].Pid)
            {
                throw new ArgumentException("Pool usage must be sorted by pid without duplicates.", nameof(usage));
            }
        }
    }

    public PoolDevice Device { get; }

    /// <summary>Whether the counter is the device's own (<c>counter</c>) or integrated from power readings (<c>power</c>).</summary>
    public PoolEnergySource Source { get; }

    /// <summary>Cumulative energy, monotonic except for a wrap at <see cref="MaxEnergyRangeMicrojoules"/>.</summary>
    public ulong EnergyMicrojoules { get; }

    /// <summary>Where the counter wraps to zero; 0 when it never wraps (a backwards step then counts as a reset, 0 J).</summary>
    public ulong MaxEnergyRangeMicrojoules { get; }

    /// <summary>The usage that means "the whole device busy": 10,000 for SM utilisation in basis points (100 %).</summary>
    public ulong CapacityUnits { get; }

    /// <summary>Each process's usage over the interval that ends here, sorted by pid.</summary>
    public ImmutableArray<PoolProcessUsage> Usage { get; }

    /// <summary>The device's own power reading at this instant, when it has one (for display only; energy comes from the counter).</summary>
    public Power? Power { get; }

    /// <summary>GPU figures for <c>hw.gpu.*</c> instruments, when the device is a GPU.</summary>
    public GpuStatistics? Gpu { get; }
}

/// <summary>The device behind a pool. <see cref="Id"/> is stable across restarts (a GPU UUID).</summary>
/// <param name="Id">Stable identifier: the GPU UUID (<c>hw.id</c>).</param>
/// <param name="Type">The <c>hw.type</c> of the device: <c>gpu</c>, later <c>platform</c>.</param>
/// <param name="Index">The device's index among its kind (NVML index).</param>
/// <param name="Name">Short name, <c>gpu-0</c> (<c>hw.name</c>).</param>
/// <param name="Vendor">The <c>hw.vendor</c>: <c>nvidia</c>.</param>
/// <param name="Model">The product name (<c>hw.model</c>), when known.</param>
public sealed record PoolDevice(string Id, string Type, int Index, string Name, string Vendor, string? Model);

/// <summary>Where a pool's energy counter comes from.</summary>
public enum PoolEnergySource
{
    /// <summary>The device's own energy counter (NVML total energy, hwmon energyN_input).</summary>
    Counter,

    /// <summary>Power readings integrated over time by the reader.</summary>
    Power,
}

/// <summary>A process's usage of a pool's device over one interval, in the pool's units.</summary>
/// <param name="Pid">The host PID (the agent runs with hostPID).</param>
/// <param name="UsageUnits">For a GPU: mean SM utilisation over the interval in basis points (1 % = 100).</param>
public readonly record struct PoolProcessUsage(int Pid, ulong UsageUnits);

/// <summary>Device-wide GPU figures at one reading.</summary>
/// <param name="UtilizationRatio">Device utilisation, 0 to 1 (<c>hw.gpu.utilization</c>), when known.</param>
/// <param name="MemoryUsedBytes">Memory in use (<c>hw.gpu.memory.usage</c>), when known.</param>
/// <param name="MemoryLimitBytes">Total memory (<c>hw.gpu.memory.limit</c>), when known.</param>
public sealed record GpuStatistics(double? UtilizationRatio, long? MemoryUsedBytes, long? MemoryLimitBytes);
