using System.Diagnostics.Metrics;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;

namespace OtelPower.Instrumentation;

/// <summary>Every measurement the instruments report for one snapshot. Immutable once built.</summary>
internal sealed class PowerMetricsView
{
    public static readonly PowerMetricsView Empty = new();

    private int _collected;

    public Measurement<double>[] ZoneEnergy { get; private init; } = [];

    public Measurement<double>[] ZonePower { get; private init; } = [];

    public Measurement<double>[] HostEnergy { get; private init; } = [];

    public Measurement<double>[] HostPower { get; private init; } = [];

    public Measurement<double>[] ProcessEnergy { get; private init; } = [];

    public Measurement<double>[] ProcessPower { get; private init; } = [];

    public Measurement<double>[] IdleEnergy { get; private init; } = [];

    public Measurement<double>[] IdlePower { get; private init; } = [];

    public Measurement<double>[] ContainerEnergy { get; private init; } = [];

    public Measurement<double>[] ContainerPower { get; private init; } = [];

    public Measurement<double>[] PodEnergy { get; private init; } = [];

    public Measurement<double>[] PodPower { get; private init; } = [];

    public Measurement<double>[] VmEnergy { get; private init; } = [];

    public Measurement<double>[] VmPower { get; private init; } = [];

    public Measurement<double>[] PlatformOtherEnergy { get; private init; } = [];

    public Measurement<double>[] PlatformOtherPower { get; private init; } = [];

    public Measurement<double>[] GpuUtilization { get; private init; } = [];

    public Measurement<double>[] GpuMemoryUsage { get; private init; } = [];

    public Measurement<double>[] GpuMemoryLimit { get; private init; } = [];

    /// <summary>Notes that a collect read <paramref name="counter"/>'s values from this view.</summary>
    public PowerMetricsView Collected(EnergyCounter counter)
    {
        Interlocked.Or(ref _collected, 1 << (int)counter);
        return this;
    }

    /// <summary>Whether a collect has read <paramref name="counter"/>'s values from this view.</summary>
    public bool WasCollected(EnergyCounter counter) => (Volatile.Read(ref _collected) & (1 << (int)counter)) != 0;

    /// <summary>
    /// This view with <paramref name="counter"/>'s series passed through its gate (zero first, final value last),
    /// the other instruments as they are in <paramref name="current"/>.
    /// </summary>
    public PowerMetricsView Gated(EnergyCounter counter, CounterStartGate gate, bool previousCollected, PowerMetricsView current)
    {
        Measurement<double>[] Pick(EnergyCounter c, Measurement<double>[] raw, Measurement<double>[] now) =>
            c == counter ? gate.Apply(raw, previousCollected) : now;

        var view = new PowerMetricsView
        {
            ZoneEnergy = Pick(EnergyCounter.Zone, ZoneEnergy, current.ZoneEnergy),
            ZonePower = ZonePower,
            HostEnergy = Pick(EnergyCounter.Host, HostEnergy, current.HostEnergy),
            HostPower = HostPower,
            ProcessEnergy = Pick(EnergyCounter.Process, ProcessEnergy, current.ProcessEnergy),
            ProcessPower = ProcessPower,
            IdleEnergy = Pick(EnergyCounter.Idle, IdleEnergy, current.IdleEnergy),
            IdlePower = IdlePower,
            ContainerEnergy = Pick(EnergyCounter.Container, ContainerEnergy, current.ContainerEnergy),
            ContainerPower = ContainerPower,
            PodEnergy = Pick(EnergyCounter.Pod, PodEnergy, current.PodEnergy),
            PodPower = PodPower,
            VmEnergy = Pick(EnergyCounter.Vm, VmEnergy, current.VmEnergy),
            VmPower = VmPower,
            PlatformOtherEnergy = Pick(EnergyCounter.PlatformOther, PlatformOtherEnergy, current.PlatformOtherEnergy),
            PlatformOtherPower = PlatformOtherPower,
            GpuUtilization = GpuUtilization,
            GpuMemoryUsage = GpuMemoryUsage,
            GpuMemoryLimit = GpuMemoryLimit,
        };

        // The other counters keep what the current view's collects have already read.
        view._collected = current._collected & ~(1 << (int)counter);
        return view;
    }

    public static PowerMetricsView Build(AttributionSnapshot snapshot, SeriesPlanners planners, PowerInstrumentationOptions options)
    {
        var source = new KeyValuePair<string, object?>(SemanticConventions.Source, snapshot.Source.ToName());
        var zoneEnergy = new List<Measurement<double>>();
        var zonePower = new List<Measurement<double>>();
        foreach (var zone in snapshot.Zones)
        {
            if (zone.Zone.Kind == EnergyZoneKind.Estimate)
            {
                continue; // not hardware: the estimate is hw.host.* with otelpower.source=estimate
            }

            var tags = ZoneTags(zone.Zone);
            zoneEnergy.Add(new(zone.Energy.Total.Joules, tags));
            zonePower.Add(new(zone.Energy.Power.Watts, tags));
        }

        var gpuUtilization = new List<Measurement<double>>();
        var gpuMemoryUsage = new List<Measurement<double>>();
        var gpuMemoryLimit = new List<Measurement<double>>();
        foreach (var pool in snapshot.Pools)
        {
            var tags = DeviceTags(pool.Device);
            zoneEnergy.Add(new(pool.Energy.Total.Joules, tags));
            zonePower.Add(new(pool.Energy.Power.Watts, tags));
            if (pool.Reading.Gpu is { } gpu)
            {
                if (gpu.UtilizationRatio is { } ratio)
                {
                    gpuUtilization.Add(new(ratio, tags));
                }

                if (gpu.MemoryUsedBytes is { } used)
                {
                    gpuMemoryUsage.Add(new(used, tags));
                }

                if (gpu.MemoryLimitBytes is { } limit)
                {
                    gpuMemoryLimit.Add(new(limit, tags));
                }
            }
        }

        var cpu = new ConsumerMeasurements();
        AddConsumers(cpu, snapshot, SemanticConventions.CpuPool, source, planners.Processes, planners.Containers, planners.Pods, options, static c => c.Energy, static p => p.Energy);
        AddVms(cpu, snapshot, SemanticConventions.CpuPool, source, planners.Vms, static w => w.Energy);
        cpu.Idle(snapshot.Idle, [source, new(SemanticConventions.HwType, SemanticConventions.CpuPool)]);

        // GPU series exist only on hosts with GPUs, so a CPU-only node exports no series at zero for them.
        if (snapshot.HasGpus)
        {
            var gpuSource = new KeyValuePair<string, object?>(SemanticConventions.Source, GpuSource(snapshot));
            if (options.IncludeGpuConsumers)
            {
                AddConsumers(cpu, snapshot, SemanticConventions.GpuPool, gpuSource, planners.GpuProcesses, planners.GpuContainers, planners.GpuPods, options, static c => c.Gpu, static p => p.Gpu);
                AddVms(cpu, snapshot, SemanticConventions.GpuPool, gpuSource, planners.GpuVms, static w => w.Gpu);
            }

            foreach (var pool in snapshot.Pools.Where(p => p.IsGpu))
            {
                // One idle series per GPU (a handful per node), so a dashboard shows each GPU's idle.
                cpu.Idle(pool.Idle, [gpuSource, new(SemanticConventions.HwType, SemanticConventions.GpuPool), new(SemanticConventions.HwId, pool.Device.Id), new(SemanticConventions.HwName, pool.Device.Name)]);
            }
        }

        // The node's other energy divided by CPU time (--attribute-platform): a third set, labelled with the meter.
        if (snapshot.AttributesPlatform && options.IncludePlatformConsumers && snapshot.Platform is { } meter)
        {
            var platformSource = new KeyValuePair<string, object?>(SemanticConventions.Source, meter.Device.Name);
            AddConsumers(cpu, snapshot, SemanticConventions.PlatformPool, platformSource, planners.PlatformProcesses, planners.PlatformContainers, planners.PlatformPods, options, static c => c.Platform, static p => p.Platform);
            AddVms(cpu, snapshot, SemanticConventions.PlatformPool, platformSource, planners.PlatformVms, static w => w.Platform);
            cpu.Idle(snapshot.PlatformIdle!.Value, [platformSource, new(SemanticConventions.HwType, SemanticConventions.PlatformPool)]);
        }

        KeyValuePair<string, object?>[] sourceOnly = [source];

        // With a whole-node meter, hw.host.* is what the semantic conventions mean: the whole host (issue 14).
        var host = snapshot.Host;
        Measurement<double>[] otherEnergy = [], otherPower = [];
        if (snapshot.Platform is { } platform)
        {
            host = platform.Energy;
            sourceOnly = [new(SemanticConventions.Source, platform.Device.Name)];
            var other = snapshot.PlatformOther ?? default;
            otherEnergy = [new(other.Total.Joules, sourceOnly)];
            otherPower = [new(other.Power.Watts, sourceOnly)];
        }

        return new PowerMetricsView
        {
            ZoneEnergy = [.. zoneEnergy],
            ZonePower = [.. zonePower],
            HostEnergy = [new(host.Total.Joules, sourceOnly)],
            HostPower = [new(host.Power.Watts, sourceOnly)],
            PlatformOtherEnergy = otherEnergy,
            PlatformOtherPower = otherPower,
            ProcessEnergy = [.. cpu.ProcessEnergy],
            ProcessPower = [.. cpu.ProcessPower],
            IdleEnergy = [.. cpu.IdleEnergy],
            IdlePower = [.. cpu.IdlePower],
            ContainerEnergy = [.. cpu.ContainerEnergy],
            ContainerPower = [.. cpu.ContainerPower],
            PodEnergy = [.. cpu.PodEnergy],
            PodPower = [.. cpu.PodPower],
            VmEnergy = [.. cpu.VmEnergy],
            VmPower = [.. cpu.VmPower],
            GpuUtilization = [.. gpuUtilization],
            GpuMemoryUsage = [.. gpuMemoryUsage],
            GpuMemoryLimit = [.. gpuMemoryLimit],
        };
    }

    /// <summary>The GPUs' <c>otelpower.source</c>: <c>nvml</c> when every GPU has its own counter, <c>nvml-power</c> when any is integrated from power.</summary>
    /// <remarks>AMD and Intel GPUs read from hwmon say <c>hwmon</c> (<c>hwmon-power</c> when integrated), on a host without NVIDIA ones.</remarks>
    private static string GpuSource(AttributionSnapshot snapshot)
    {
        var gpus = snapshot.Pools.Where(p => p.IsGpu).ToList();
        var prefix = gpus.Any(p => p.Device.Vendor == "nvidia") ? "nvml" : "hwmon";
        return gpus.Any(p => p.Reading.Source == PoolEnergySource.Power) ? prefix + "-power" : prefix;
    }

    private static void AddConsumers(
        ConsumerMeasurements into,
        AttributionSnapshot snapshot,
        string poolType,
        KeyValuePair<string, object?> source,
        ProcessSeriesPlanner processPlanner,
        WorkloadSeriesPlanner containerPlanner,
        WorkloadSeriesPlanner podPlanner,
        PowerInstrumentationOptions options,
        Func<ContainerEnergy, EnergyTally> containerEnergy,
        Func<PodEnergy, EnergyTally> podEnergy)
    {
        var hwType = new KeyValuePair<string, object?>(SemanticConventions.HwType, poolType);
        var seconds = snapshot.Interval.TotalSeconds;
        double Watts(long microjoules) => seconds > 0 ? microjoules / 1e6 / seconds : 0;

        foreach (var series in processPlanner.Update(snapshot))
        {
            var tags = series.Process is { } process
                ? ProcessTags(process, snapshot, source, hwType, options)
                : [new(SemanticConventions.ProcessExecutableName, series.ExecutableAggregate), source, hwType];
            into.ProcessEnergy.Add(new(series.TotalMicrojoules / 1e6, tags));
            into.ProcessPower.Add(new(Watts(series.IntervalMicrojoules), tags));
        }

        var containerTags = snapshot.Containers.ToDictionary(c => c.Container.ContainerId, c => ContainerTags(c, source, hwType), StringComparer.Ordinal);
        var (containers, foldedContainers) = containerPlanner.Update(snapshot.Containers.Select(c =>
            (c.Container.ContainerId, c.Metadata?.Namespace, AttributeKey(containerTags[c.Container.ContainerId]), containerEnergy(c).Total.Microjoules, containerEnergy(c).Interval.Microjoules)));
        foreach (var (id, total, interval) in containers)
        {
            var tags = containerTags[id];
            into.ContainerEnergy.Add(new(total / 1e6, tags));
            into.ContainerPower.Add(new(Watts(interval), tags));
        }

        foreach (var (ns, total, interval) in foldedContainers)
        {
            KeyValuePair<string, object?>[] tags = [new(SemanticConventions.ContainerId, SemanticConventions.Other), new(SemanticConventions.NamespaceName, ns), source, hwType];
            into.ContainerEnergy.Add(new(total / 1e6, tags));
            into.ContainerPower.Add(new(Watts(interval), tags));
        }

        var podsByUid = snapshot.Pods.ToDictionary(p => p.PodUid, StringComparer.Ordinal);
        KeyValuePair<string, object?>[] PodTags(string uid) =>
        [
            new(SemanticConventions.PodUid, uid),
            new(SemanticConventions.PodName, podsByUid[uid].PodName ?? string.Empty),
            new(SemanticConventions.NamespaceName, podsByUid[uid].Namespace ?? string.Empty),
            source,
            hwType,
        ];
        var (pods, foldedPods) = podPlanner.Update(snapshot.Pods.Select(p => (p.PodUid, p.Namespace, AttributeKey(PodTags(p.PodUid)), podEnergy(p).Total.Microjoules, podEnergy(p).Interval.Microjoules)));
        foreach (var (uid, total, interval) in pods)
        {
            var tags = PodTags(uid);
            into.PodEnergy.Add(new(total / 1e6, tags));
            into.PodPower.Add(new(Watts(interval), tags));
        }

        foreach (var (ns, total, interval) in foldedPods)
        {
            KeyValuePair<string, object?>[] tags = [new(SemanticConventions.PodName, SemanticConventions.Other), new(SemanticConventions.NamespaceName, ns), source, hwType];
            into.PodEnergy.Add(new(total / 1e6, tags));
            into.PodPower.Add(new(Watts(interval), tags));
        }
    }

    /// <summary>One series per VM while the budget lasts (like pods); later ones fold into <c>otelpower.vm.name=other</c>.</summary>
    private static void AddVms(
        ConsumerMeasurements into, AttributionSnapshot snapshot, string poolType, KeyValuePair<string, object?> source, WorkloadSeriesPlanner planner, Func<WorkloadEnergy, EnergyTally> energy)
    {
        var vms = snapshot.Vms;
        if (vms.IsEmpty && planner.DedicatedSeriesCreated == 0)
        {
            return; // a host that never ran a VM exports no VM series
        }

        var hwType = new KeyValuePair<string, object?>(SemanticConventions.HwType, poolType);
        var seconds = snapshot.Interval.TotalSeconds;
        double Watts(long microjoules) => seconds > 0 ? microjoules / 1e6 / seconds : 0;
        var byId = vms.ToDictionary(v => v.Workload.Id, StringComparer.Ordinal);
        KeyValuePair<string, object?>[] VmTags(string id)
        {
            var vm = (VmIdentity)byId[id].Workload;
            return [new(SemanticConventions.VmName, vm.Name), new(SemanticConventions.VmUuid, vm.Uuid ?? string.Empty), source, hwType];
        }

        var (dedicated, folded) = planner.Update(vms.Select(v => (v.Workload.Id, (string?)null, AttributeKey(VmTags(v.Workload.Id)), energy(v).Total.Microjoules, energy(v).Interval.Microjoules)));
        foreach (var (id, total, interval) in dedicated)
        {
            var tags = VmTags(id);
            into.VmEnergy.Add(new(total / 1e6, tags));
            into.VmPower.Add(new(Watts(interval), tags));
        }

        foreach (var (_, total, interval) in folded)
        {
            KeyValuePair<string, object?>[] tags = [new(SemanticConventions.VmName, SemanticConventions.Other), new(SemanticConventions.VmUuid, string.Empty), source, hwType];
            into.VmEnergy.Add(new(total / 1e6, tags));
            into.VmPower.Add(new(Watts(interval), tags));
        }
    }

    private static KeyValuePair<string, object?>[] DeviceTags(PoolDevice device)
    {
        var tags = new List<KeyValuePair<string, object?>>(5)
        {
            new(SemanticConventions.HwId, device.Id),
            new(SemanticConventions.HwName, device.Name),
            new(SemanticConventions.HwType, device.Type),
            new(SemanticConventions.HwVendor, device.Vendor),
        };
        if (!string.IsNullOrEmpty(device.Model))
        {
            tags.Add(new(SemanticConventions.HwModel, device.Model));
        }

        return [.. tags];
    }

    /// <summary>What the SDK keys a series by: the attributes, keys and values (order does not matter to it).</summary>
    internal static string AttributeKey(KeyValuePair<string, object?>[] tags) =>
        string.Join('\u001f', tags.Select(t => t.Key + "=" + Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal));

    internal static string HardwareType(EnergyZoneKind kind) => kind == EnergyZoneKind.Dram ? "memory" : "cpu";

    private static KeyValuePair<string, object?>[] ZoneTags(EnergyZone zone)
    {
        var tags = new List<KeyValuePair<string, object?>>(4)
        {
            new(SemanticConventions.HwId, zone.Id),
            new(SemanticConventions.HwName, zone.Name),
            new(SemanticConventions.HwType, HardwareType(zone.Kind)),
        };
        if (zone.ParentId is { } parent)
        {
            tags.Add(new(SemanticConventions.HwParent, parent));
        }

        return [.. tags];
    }

    private static KeyValuePair<string, object?>[] ProcessTags(
        ProcessIdentity process, AttributionSnapshot snapshot, KeyValuePair<string, object?> source, KeyValuePair<string, object?> hwType, PowerInstrumentationOptions options)
    {
        var tags = new List<KeyValuePair<string, object?>>(10)
        {
            // An int, not a long: OpenTelemetry's metric point lookup hashes long, double and the like with a seed
            // from RandomNumberGenerator, whose first use loads OpenSSL (libcrypto and libssl, about 3.7 MiB
            // resident) into an agent that speaks plain HTTP. An int is hashed as it is, and OTLP sends it as
            // the same intValue.
            new(SemanticConventions.ProcessPid, process.Pid),
            new(SemanticConventions.ProcessExecutableName, process.ExecutableName),
            source,
            hwType,
        };
        if (options.IncludeCommandLine && process.CommandLine is { } commandLine)
        {
            tags.Add(new(SemanticConventions.ProcessCommandLine, commandLine));
        }

        AddWorkloadTags(tags, process.Container, snapshot.MetadataOf(process.Container));
        return [.. tags];
    }

    private static KeyValuePair<string, object?>[] ContainerTags(ContainerEnergy container, KeyValuePair<string, object?> source, KeyValuePair<string, object?> hwType)
    {
        var tags = new List<KeyValuePair<string, object?>>(8) { source, hwType };
        AddWorkloadTags(tags, container.Container, container.Metadata);
        return [.. tags];
    }

    private static void AddWorkloadTags(List<KeyValuePair<string, object?>> tags, ContainerIdentity? container, ContainerMetadata? metadata)
    {
        if (container is null)
        {
            return;
        }

        tags.Add(new(SemanticConventions.ContainerId, container.ContainerId));
        if (container.PodUid is { } uid)
        {
            tags.Add(new(SemanticConventions.PodUid, uid));
        }

        if (metadata is not null)
        {
            AddIfKnown(tags, SemanticConventions.PodName, metadata.PodName);
            AddIfKnown(tags, SemanticConventions.NamespaceName, metadata.Namespace);
            AddIfKnown(tags, SemanticConventions.ContainerName, metadata.ContainerName);
            foreach (var (key, value) in metadata.Labels)
            {
                tags.Add(new(key, value));
            }
        }
    }

    private static void AddIfKnown(List<KeyValuePair<string, object?>> tags, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            tags.Add(new(key, value));
        }
    }
}

/// <summary>The planners of one instrumentation: a CPU set, a GPU set and a platform set.</summary>
internal sealed record SeriesPlanners(
    ProcessSeriesPlanner Processes,
    WorkloadSeriesPlanner Containers,
    WorkloadSeriesPlanner Pods,
    ProcessSeriesPlanner GpuProcesses,
    WorkloadSeriesPlanner GpuContainers,
    WorkloadSeriesPlanner GpuPods,
    WorkloadSeriesPlanner Vms,
    WorkloadSeriesPlanner GpuVms,
    ProcessSeriesPlanner PlatformProcesses,
    WorkloadSeriesPlanner PlatformContainers,
    WorkloadSeriesPlanner PlatformPods,
    WorkloadSeriesPlanner PlatformVms);

/// <summary>Consumer measurements being gathered for one view.</summary>
internal sealed class ConsumerMeasurements
{
    public List<Measurement<double>> ProcessEnergy { get; } = [];

    public List<Measurement<double>> ProcessPower { get; } = [];

    public List<Measurement<double>> IdleEnergy { get; } = [];

    public List<Measurement<double>> IdlePower { get; } = [];

    public List<Measurement<double>> ContainerEnergy { get; } = [];

    public List<Measurement<double>> ContainerPower { get; } = [];

    public List<Measurement<double>> PodEnergy { get; } = [];

    public List<Measurement<double>> PodPower { get; } = [];

    public List<Measurement<double>> VmEnergy { get; } = [];

    public List<Measurement<double>> VmPower { get; } = [];

    public void Idle(EnergyTally idle, KeyValuePair<string, object?>[] tags)
    {
        IdleEnergy.Add(new(idle.Total.Joules, tags));
        IdlePower.Add(new(idle.Power.Watts, tags));
    }
}

/// <summary>The energy counters, each with its own start gate and its own collected flag.</summary>
internal enum EnergyCounter
{
    Zone,
    Host,
    Process,
    Idle,
    Container,
    Pod,
    Vm,
    PlatformOther,
}
