using OtelPower.Sensors;

namespace OtelPower.Sampling;

/// <summary>
/// Knobs of the sampling loop and of the sensors it reads. <see cref="Microsoft.Extensions.DependencyInjection.PowerSamplingServiceCollectionExtensions.AddPowerSampling(Microsoft.Extensions.DependencyInjection.IServiceCollection)"/>
/// binds them from the <see cref="ConfigurationSection"/> section of the host's configuration; code given to
/// <c>AddPowerSampling(configure)</c> or <c>Configure&lt;PowerSamplingOptions&gt;</c> runs after it and wins.
/// </summary>
public sealed class PowerSamplingOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string ConfigurationSection = "OtelPower:Sampling";

    /// <summary>Time between samples. CPU time is counted in 10 ms ticks, so below a second power gets noisy.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Stop the application after this many intervals (the agent's <c>--samples</c>); 0 samples until the host stops.</summary>
    public int StopAfterIntervals { get; set; }

    public string ProcfsRoot { get; set; } = "/proc";

    public string SysfsRoot { get; set; } = "/sys";

    /// <summary>A powercap tree to read instead of <c>&lt;sysfs&gt;/class/powercap</c> (in a guest: its hypervisor's tree); null or empty for the default.</summary>
    public string? PowercapPath { get; set; }

    /// <summary>The cgroup root containers and VMs are measured under; null or empty turns workload measurement off.</summary>
    public string? CgroupfsRoot { get; set; } = "/sys/fs/cgroup";

    /// <summary>Read <c>/proc/PID/cmdline</c>. Off by default: command lines often carry secrets.</summary>
    public bool IncludeCommandLine { get; set; }

    /// <summary>
    /// With a whole-node meter (ACPI power meter, Redfish), divide the node's other energy among consumers by CPU
    /// time, booked as their platform energy (the agent's <c>--attribute-platform</c>). Off by default: disks, NICs
    /// and fans do not follow CPU time, so the split is a convention, not a measurement.
    /// </summary>
    public bool AttributePlatformOther { get; set; }

    /// <summary>The model used when no CPU energy counter can be read.</summary>
    public EstimatorOptions Estimator { get; set; } = new();

    /// <summary>The sensors' view of these options.</summary>
    public SensorOptions ToSensorOptions() => new()
    {
        ProcfsRoot = ProcfsRoot,
        SysfsRoot = SysfsRoot,
        PowercapPath = string.IsNullOrWhiteSpace(PowercapPath) ? null : PowercapPath,
        CgroupfsRoot = string.IsNullOrWhiteSpace(CgroupfsRoot) ? null : CgroupfsRoot,
        IncludeCommandLine = IncludeCommandLine,
        Estimator = Estimator,
    };

    internal void Validate()
    {
        if (Interval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"PowerSamplingOptions.Interval must be positive, not {Interval}.");
        }

        if (StopAfterIntervals < 0)
        {
            throw new ArgumentException($"PowerSamplingOptions.StopAfterIntervals must be 0 (run until stopped) or more, not {StopAfterIntervals}.");
        }

        if (string.IsNullOrWhiteSpace(ProcfsRoot) || string.IsNullOrWhiteSpace(SysfsRoot))
        {
            throw new ArgumentException("PowerSamplingOptions.ProcfsRoot and SysfsRoot must name directories.");
        }
    }
}
