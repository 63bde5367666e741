namespace OtelPower.Attribution;

/// <summary>What a powercap zone measures, from its <c>name</c> file.</summary>
public enum EnergyZoneKind
{
    /// <summary>A CPU package (socket). Counts toward host energy.</summary>
    Package,

    /// <summary>Cores of a package; already inside the package, never added to it.</summary>
    Core,

    /// <summary>Uncore (integrated GPU) of a package; already inside the package.</summary>
    Uncore,

    /// <summary>DRAM of a socket; not inside the package, counts toward host energy.</summary>
    Dram,

    /// <summary>Platform (SoC) energy; covers package, dram and more. Reported, never added.</summary>
    Psys,

    /// <summary>A zone synthesised by the estimator when RAPL cannot be read. Counts toward host energy.</summary>
    Estimate,

    /// <summary>A zone whose name we do not recognise. Reported, never added.</summary>
    Other,
}

/// <summary>
/// The identity of one energy zone, stable for the agent's lifetime.
/// </summary>
/// <param name="Id">The powercap directory name, e.g. <c>intel-rapl:0:2</c>.</param>
/// <param name="Name">A name unique on the host, e.g. <c>package-0</c> or <c>dram-0</c>.</param>
/// <param name="ParentId">The parent zone's id for sub-zones, else null.</param>
/// <param name="Kind">What the zone measures.</param>
public sealed record EnergyZone(string Id, string Name, string? ParentId, EnergyZoneKind Kind)
{
    /// <summary>
    /// Whether the zone's energy is part of the host energy that is attributed: packages and dram
    /// (or the estimate). Sub-zones of a package and psys would count the same joules twice.
    /// </summary>
    public bool CountsTowardHost => Kind is EnergyZoneKind.Package or EnergyZoneKind.Dram or EnergyZoneKind.Estimate;
}

/// <summary>One reading of a zone's cumulative counter.</summary>
/// <param name="Zone">The zone.</param>
/// <param name="EnergyMicrojoules">The counter, as read from <c>energy_uj</c>.</param>
/// <param name="MaxEnergyRangeMicrojoules">Where the counter wraps to zero (<c>max_energy_range_uj</c>); 0 if unknown.</param>
public readonly record struct EnergyZoneReading(EnergyZone Zone, ulong EnergyMicrojoules, ulong MaxEnergyRangeMicrojoules);
