namespace OtelPower.Sensors;

/// <summary>Where the sensors read from and what they may read. Every path is a root, so tests and
/// containers (host /proc mounted at /host/proc) point them elsewhere.</summary>
public sealed class SensorOptions
{
    public string ProcfsRoot { get; set; } = "/proc";

    public string SysfsRoot { get; set; } = "/sys";

    /// <summary>A powercap tree to read instead of <c>&lt;sysfs&gt;/class/powercap</c> (in a guest: its hypervisor's tree); null for the default.</summary>
    public string? PowercapPath { get; set; }

    /// <summary>The cgroup root; null or empty turns container measurement off.</summary>
    public string? CgroupfsRoot { get; set; } = "/sys/fs/cgroup";

    /// <summary>Read <c>/proc/PID/cmdline</c>. Off by default: command lines often carry secrets.</summary>
    public bool IncludeCommandLine { get; set; }

    public EstimatorOptions Estimator { get; set; } = new();
}

/// <summary>
/// The Cloud Carbon Footprint per-vCPU model used when RAPL cannot be read:
/// W = cpus x (MinWattsPerCpu + u x (MaxWattsPerCpu - MinWattsPerCpu)), u the host CPU utilisation.
/// The defaults are CCF's AWS averages.
/// </summary>
public sealed class EstimatorOptions
{
    public double MinWattsPerCpu { get; set; } = 0.74;

    public double MaxWattsPerCpu { get; set; } = 3.5;
}
