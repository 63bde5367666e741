using OtelPower.Attribution;

namespace OtelPower.Sensors.Estimation;

/// <summary>
/// Stands in for RAPL where it cannot be read: a synthetic zone whose counter advances by the model's
/// watts over each interval, W = cpus x (min + u x (max - min)) with u = busy / total CPU time over the
/// interval (the Cloud Carbon Footprint per-vCPU model). The engine then divides it like a RAPL delta,
/// and every figure it produces says source = estimate.
/// </summary>
internal sealed class UtilisationEstimator
{
    public static readonly EnergyZone Zone = new("estimate", "cpu-estimate", null, EnergyZoneKind.Estimate);

    private readonly EstimatorOptions _options;
    private CpuTimes? _previousCpu;
    private TimeSpan _previousTime;
    private ulong _counterMicrojoules;

    public UtilisationEstimator(EstimatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MinWattsPerCpu < 0 || options.MaxWattsPerCpu < options.MinWattsPerCpu || !double.IsFinite(options.MaxWattsPerCpu))
        {
            throw new ArgumentException($"Estimator: need 0 <= MinWattsPerCpu ({options.MinWattsPerCpu}) <= MaxWattsPerCpu ({options.MaxWattsPerCpu}).", nameof(options));
        }

        _options = options;
    }

    /// <summary>The model's power at a utilisation (0 to 1) on <paramref name="cpuCount"/> CPUs.</summary>
    public Power PowerAt(double utilisation, int cpuCount) =>
        new(cpuCount * (_options.MinWattsPerCpu + (Math.Clamp(utilisation, 0, 1) * (_options.MaxWattsPerCpu - _options.MinWattsPerCpu))));

    /// <summary>Advances the synthetic counter to <paramref name="monotonicTime"/> and returns its reading.</summary>
    public EnergyZoneReading Read(CpuTimes cpu, int cpuCount, TimeSpan monotonicTime)
    {
        if (_previousCpu is { } before && monotonicTime > _previousTime)
        {
            var total = cpu.TotalTicks >= before.TotalTicks ? cpu.TotalTicks - before.TotalTicks : 0;
            var busy = cpu.BusyTicks >= before.BusyTicks ? cpu.BusyTicks - before.BusyTicks : 0;
            var utilisation = total == 0 ? 0 : (double)busy / total;
            _counterMicrojoules += (ulong)PowerAt(utilisation, cpuCount).Over(monotonicTime - _previousTime).Microjoules;
        }

        _previousCpu = cpu;
        _previousTime = monotonicTime;
        return new EnergyZoneReading(Zone, _counterMicrojoules, 0);
    }
}
