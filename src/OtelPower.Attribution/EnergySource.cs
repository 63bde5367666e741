namespace OtelPower.Attribution;

/// <summary>Where the host energy came from. Every exported figure carries it.</summary>
public enum EnergySource
{
    /// <summary>Measured by RAPL counters read through powercap.</summary>
    Rapl,

    /// <summary>Estimated from CPU utilisation by a model; not a measurement.</summary>
    Estimate,

    /// <summary>
    /// Inside a VM: the virtual powercap tree the hypervisor's agent writes (<c>--vm-powercap</c>), this VM's
    /// share of the host's energy. Measured on the host, attributed there, not a RAPL register of the guest.
    /// </summary>
    Hypervisor,
    /// <summary>Measured by hwmon CPU power or energy channels where RAPL is absent (Ampere, Grace, X-Gene, amd_energy).</summary>
    Hwmon,
}

public static class EnergySourceNames
{
    public const string Rapl = "rapl";
    public const string Estimate = "estimate";
    public const string Hypervisor = "hypervisor";
    public const string Hwmon = "hwmon";

    public static string ToName(this EnergySource source) => source switch
    {
        EnergySource.Rapl => Rapl,
        EnergySource.Estimate => Estimate,
        EnergySource.Hypervisor => Hypervisor,
        EnergySource.Hwmon => Hwmon,
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, null),
    };
}
