using System.Diagnostics.Metrics;
using System.Reflection;
using OtelPower.Attribution;

namespace OtelPower.Instrumentation;

/// <summary>
/// The OtelPower meter and its instruments, created once. On each published snapshot (on the sampling
/// thread) it books the joules into series and swaps in a new immutable view; the observable callbacks,
/// called by the SDK on export, only return the current view's measurements: no I/O, no locks.
/// </summary>
internal sealed class PowerInstruments : IDisposable
{
    /// <summary>The package version the Meter carries: the informational version without its <c>+commit</c> suffix.</summary>
    internal static readonly string Version =
        typeof(PowerInstruments).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0.0.0";

    private readonly AttributionFeed _feed;
    private readonly PowerInstrumentationOptions _options;
    private readonly Meter _meter;
    private readonly ProcessSeriesPlanner _processes;
    private readonly WorkloadSeriesPlanner _containers;
    private readonly WorkloadSeriesPlanner _pods;
    private readonly ProcessSeriesPlanner _gpuProcesses;
    private readonly WorkloadSeriesPlanner _gpuContainers;
    private readonly WorkloadSeriesPlanner _gpuPods;
    private readonly Dictionary<EnergyCounter, CounterStartGate> _startGates = Enum.GetValues<EnergyCounter>().ToDictionary(c => c, _ => new CounterStartGate());
    private readonly WorkloadSeriesPlanner _vms;
    private readonly WorkloadSeriesPlanner _gpuVms;
    private readonly ProcessSeriesPlanner _platformProcesses;
    private readonly WorkloadSeriesPlanner _platformContainers;
    private readonly WorkloadSeriesPlanner _platformPods;
    private readonly WorkloadSeriesPlanner _platformVms;
    private readonly Lock _updateGate = new();
    private bool _workloadInstruments;
    private bool _vmInstruments;
    private PowerMetricsView _view = PowerMetricsView.Empty;
    private PowerMetricsView _raw = PowerMetricsView.Empty;

    public PowerInstruments(AttributionFeed feed, PowerInstrumentationOptions options)
    {
        _feed = feed;
        _options = options;
        _processes = new ProcessSeriesPlanner(options);
        _containers = new WorkloadSeriesPlanner(options);
        _pods = new WorkloadSeriesPlanner(options);
        _gpuProcesses = new ProcessSeriesPlanner(options, static p => p.Gpu);
        _gpuContainers = new WorkloadSeriesPlanner(options);
        _gpuPods = new WorkloadSeriesPlanner(options);
        _vms = new WorkloadSeriesPlanner(options);
        _gpuVms = new WorkloadSeriesPlanner(options);
        _platformProcesses = new ProcessSeriesPlanner(options, static p => p.Platform);
        _platformContainers = new WorkloadSeriesPlanner(options);
        _platformPods = new WorkloadSeriesPlanner(options);
        _platformVms = new WorkloadSeriesPlanner(options);
        _meter = new Meter(new MeterOptions(options.MeterName) { Version = Version, TelemetrySchemaUrl = SemanticConventions.SchemaUrl });

        _meter.CreateObservableCounter(SemanticConventions.HwEnergy, () => Collect(EnergyCounter.Zone).ZoneEnergy, "J", "Energy counted by a RAPL zone (package, core, uncore, dram, psys) or a GPU.");
        _meter.CreateObservableGauge(SemanticConventions.HwPower, () => View.ZonePower, "W", "Average power of a RAPL zone or a GPU over the last interval.");
        _meter.CreateObservableGauge(SemanticConventions.HwGpuUtilization, () => View.GpuUtilization, "1", "GPU utilisation reported by the driver, 0 to 1.");
        _meter.CreateObservableGauge(SemanticConventions.HwGpuMemoryUsage, () => View.GpuMemoryUsage, "By", "GPU memory in use.");
        _meter.CreateObservableGauge(SemanticConventions.HwGpuMemoryLimit, () => View.GpuMemoryLimit, "By", "GPU memory in all.");
        _meter.CreateObservableCounter(SemanticConventions.HwHostEnergy, () => Collect(EnergyCounter.Host).HostEnergy, "J", "Host energy being attributed: packages + dram, or the estimate.");
        _meter.CreateObservableCounter(SemanticConventions.PlatformOtherEnergy, () => Collect(EnergyCounter.PlatformOther).PlatformOtherEnergy, "J", "Platform energy the measured pools (CPU, GPUs) do not explain: disks, NICs, fans, power-supply losses.");
        _meter.CreateObservableGauge(SemanticConventions.PlatformOtherPower, () => View.PlatformOtherPower, "W", "Average power of the node's other energy over the last interval.");
        _meter.CreateObservableGauge(SemanticConventions.HwHostPower, () => View.HostPower, "W", "Average host power over the last interval.");
        _meter.CreateObservableCounter(SemanticConventions.ProcessEnergy, () => Collect(EnergyCounter.Process).ProcessEnergy, "J", "Host energy attributed to a process (or folded group of processes) by CPU time.");
        _meter.CreateObservableGauge(SemanticConventions.ProcessPower, () => View.ProcessPower, "W", "Average power attributed to a process over the last interval.");
        _meter.CreateObservableCounter(SemanticConventions.IdleEnergy, () => Collect(EnergyCounter.Idle).IdleEnergy, "J", "Host energy no live process accounts for.");
        _meter.CreateObservableGauge(SemanticConventions.IdlePower, () => View.IdlePower, "W", "Average idle power over the last interval.");

        _feed.Published += OnPublished;
        if (_feed.Latest is { } latest)
        {
            OnPublished(this, latest);
        }
    }

    internal PowerMetricsView View => Volatile.Read(ref _view);

    public void Dispose()
    {
        _feed.Published -= OnPublished;
        _meter.Dispose();
    }

    private void OnPublished(object? sender, AttributionSnapshot snapshot)
    {
        lock (_updateGate)
        {
            CreateWorkloadInstrumentsOnFirstSight(snapshot);
            _raw = PowerMetricsView.Build(snapshot, new SeriesPlanners(
                _processes, _containers, _pods, _gpuProcesses, _gpuContainers, _gpuPods, _vms, _gpuVms, _platformProcesses, _platformContainers, _platformPods, _platformVms), _options);
            var view = _raw;
            foreach (var (counter, gate) in _startGates)
            {
                view = _raw.Gated(counter, gate, _view.WasCollected(counter), view);
            }

            Volatile.Write(ref _view, view);
        }
    }

    /// <summary>
    /// The container, pod and VM instruments are created when the first such workload is measured, not up
    /// front: the SDK allocates every consumer stream's points (the cardinality limit, per reader) when an
    /// instrument is published, so a host that never runs a container or a VM would carry two to three
    /// thousand zeroed points per instrument and reader for series it cannot have. An instrument without a
    /// measurement exports nothing, so nothing a reader sees changes.
    /// </summary>
    private void CreateWorkloadInstrumentsOnFirstSight(AttributionSnapshot snapshot)
    {
        if (!_workloadInstruments && (!snapshot.Containers.IsEmpty || !snapshot.Pods.IsEmpty))
        {
            _workloadInstruments = true;
            _meter.CreateObservableCounter(SemanticConventions.ContainerEnergy, () => Collect(EnergyCounter.Container).ContainerEnergy, "J", "Host energy attributed to a container from its cgroup CPU time.");
            _meter.CreateObservableGauge(SemanticConventions.ContainerPower, () => View.ContainerPower, "W", "Average power of a container over the last interval.");
            _meter.CreateObservableCounter(SemanticConventions.PodEnergy, () => Collect(EnergyCounter.Pod).PodEnergy, "J", "Host energy attributed to a pod: the sum of its containers.");
            _meter.CreateObservableGauge(SemanticConventions.PodPower, () => View.PodPower, "W", "Average power of a pod over the last interval.");
        }

        if (!_vmInstruments && !snapshot.Vms.IsEmpty)
        {
            _vmInstruments = true;
            _meter.CreateObservableCounter(SemanticConventions.VmEnergy, () => Collect(EnergyCounter.Vm).VmEnergy, "J", "Host energy attributed to a virtual machine from its cgroup (or qemu process) CPU time.");
            _meter.CreateObservableGauge(SemanticConventions.VmPower, () => View.VmPower, "W", "Average power of a virtual machine over the last interval.");
        }
    }

    /// <summary>
    /// The view for one energy counter's callback (called by the SDK on export). A second collect of the same
    /// view releases the series that the first one exported at zero, so they need not wait for the next sample.
    /// </summary>
    private PowerMetricsView Collect(EnergyCounter counter)
    {
        lock (_updateGate)
        {
            if (_view.WasCollected(counter))
            {
                Volatile.Write(ref _view, _raw.Gated(counter, _startGates[counter], previousCollected: true, _view));
            }

            return _view.Collected(counter);
        }
    }
}
