namespace OtelPower.Sensors.Gpu;

/// <summary>How the agent reaches NVML (<c>--nvml-library</c>).</summary>
public sealed class NvmlOptions
{
    /// <summary>
    /// The NVML library: a path, or a bare soname that the dynamic loader looks up (<c>LD_LIBRARY_PATH</c>,
    /// the ld.so cache). Default <c>libnvidia-ml.so.1</c>, never the unversioned <c>.so</c>, which driver-only
    /// hosts often lack.
    /// </summary>
    public string LibraryPath { get; set; } = NvmlLibrary.DefaultPath;

    /// <summary>How long a GPU that failed (GPU_IS_LOST, an XID) stays out before it is tried again.</summary>
    public TimeSpan FailedGpuRetryInterval { get; set; } = TimeSpan.FromSeconds(30);
}
