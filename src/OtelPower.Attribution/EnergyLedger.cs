using System.Buffers;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using OtelPower.Attribution.Pools;

namespace OtelPower.Attribution;

/// <summary>
/// Keeps the cumulative books across intervals: feed it samples in order, it returns a snapshot per
/// interval. No I/O and no clock: time comes from the samples. Not thread-safe; one sampling loop owns it.
/// </summary>
public sealed class EnergyLedger
{
    private readonly Dictionary<string, (EnergyTally Cpu, EnergyTally Gpu, EnergyTally Platform)> _pods = new(StringComparer.Ordinal);
    private readonly bool _attributePlatformOther;

    // Pods that have had a container in this agent's books: one that loses its last container is not booked at 0 J
    // again while the API still lists it (completed), which would read as a counter reset.
    private readonly HashSet<string> _podsWithContainers = new(StringComparer.Ordinal);
    private HostSample? _previous;
    private AttributionSnapshot? _latest;

    public EnergyLedger()
        : this(attributePlatformOther: false)
    {
    }

    /// <param name="attributePlatformOther">
    /// Divide the whole-node meter's other energy (platform - CPU - GPUs) among consumers by CPU time, booked as
    /// their platform energy (<c>--attribute-platform</c>). Off by default: disks, fans and power-supply losses do
    /// not follow CPU time, so the split is a convention, not a measurement.
    /// </param>
    public EnergyLedger(bool attributePlatformOther)
    {
        _attributePlatformOther = attributePlatformOther;
    }

    /// <summary>The newest snapshot, or null before the second sample.</summary>
    public AttributionSnapshot? Latest => _latest;

    /// <summary>
    /// Records a sample. The first one only sets the baseline and returns null; every later one closes
    /// an interval and returns its snapshot.
    /// </summary>
    public AttributionSnapshot? Record(HostSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (_previous is null)
        {
            _previous = sample;
            return null;
        }

        // A zone missing from this sample keeps its last reading, so it stays in the books at 0 W now
        // and its counter's progress is attributed when it reads again.
        sample = CarryForwardMissingZones(_previous, sample);
        var interval = IntervalAttribution.Compute(_previous, sample, _attributePlatformOther);
        var duration = interval.Interval;
        var snapshot = new AttributionSnapshot(
            sample.Timestamp,
            duration,
            (_latest?.IntervalCount ?? 0) + 1,
            sample.Source,
            Accumulate(_latest?.Host, interval.HostEnergy, duration),
            AccumulateZones(_latest, interval, duration),
            Accumulate(_latest?.Idle, interval.IdleEnergy, duration),
            AccumulateProcesses(_latest, interval, duration),
            sample.ClockTicksPerSecond,
            AccumulateWorkloads(_latest, interval, duration),
            AccumulatePods(interval, duration, sample),
            Accumulate(_latest?.UnattributedWorkload, interval.UnattributedWorkloadEnergy, duration),
            sample.ContainerMetadata,
            AccumulatePools(_latest, interval, duration),
            Accumulate(_latest?.GpuIdle, interval.GpuIdleEnergy, duration),
            Accumulate(_latest?.GpuUnattributedWorkload, interval.GpuUnattributedWorkloadEnergy, duration),
            interval.PlatformOtherEnergy is { } other ? Accumulate(_latest?.PlatformOther, other, duration) : null,
            interval.AttributesPlatform ? Accumulate(_latest?.PlatformIdle, interval.PlatformIdleEnergy, duration) : null,
            interval.AttributesPlatform ? Accumulate(_latest?.PlatformUnattributedWorkload, interval.PlatformUnattributedWorkloadEnergy, duration) : null);

        _previous = sample;
        _latest = snapshot;
        return snapshot;
    }

    private static EnergyTally Accumulate(EnergyTally? before, Energy interval, TimeSpan duration) =>
        before is { } tally ? tally.Add(interval, duration) : EnergyTally.Start(interval, duration);

    private static ImmutableArray<ZoneEnergy> AccumulateZones(AttributionSnapshot? latest, IntervalAttribution interval, TimeSpan duration)
    {
        var zones = new ZoneEnergy[interval.Zones.Length];
        for (var i = 0; i < zones.Length; i++)
        {
            var delta = interval.Zones[i];
            EnergyTally? before = null;
            if (latest is not null)
            {
                foreach (var zone in latest.Zones)
                {
                    if (string.Equals(zone.Zone.Id, delta.Zone.Id, StringComparison.Ordinal))
                    {
                        before = zone.Energy;
                        break;
                    }
                }
            }

            zones[i] = new ZoneEnergy(delta.Zone, Accumulate(before, delta.Energy, duration));
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(zones);
    }

    private static ImmutableArray<PoolEnergy> AccumulatePools(AttributionSnapshot? latest, IntervalAttribution interval, TimeSpan duration)
    {
        if (interval.Pools.IsEmpty)
        {
            return [];
        }

        var pools = new PoolEnergy[interval.Pools.Length];
        for (var i = 0; i < pools.Length; i++)
        {
            var delta = interval.Pools[i];
            PoolEnergy? before = null;
            foreach (var pool in latest?.Pools ?? [])
            {
                if (string.Equals(pool.Device.Id, delta.Device.Id, StringComparison.Ordinal))
                {
                    before = pool;
                    break;
                }
            }

            pools[i] = new PoolEnergy(delta.Reading, Accumulate(before?.Energy, delta.Energy, duration), Accumulate(before?.Idle, delta.IdleEnergy, duration));
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(pools);
    }

    /// <summary>Merge-joins last interval's books with this interval's shares; both are sorted by key.</summary>
    private static ImmutableArray<ProcessEnergy> AccumulateProcesses(AttributionSnapshot? latest, IntervalAttribution interval, TimeSpan duration)
    {
        var before = latest?.Processes ?? [];
        var processes = new ProcessEnergy[interval.Processes.Length];
        var rentedMatch = ArrayPool<int>.Shared.Rent(processes.Length); // per process, per sample: not left to the GC
        try
        {
            var match = rentedMatch.AsSpan(0, processes.Length);
            SortedJoin.MatchProcesses(before.AsSpan(), interval.Processes.AsSpan(), match);
            for (var i = 0; i < processes.Length; i++)
            {
                var delta = interval.Processes[i];
                ProcessEnergy? tally = match[i] >= 0 ? before[match[i]] : null;
                processes[i] = new ProcessEnergy(
                    delta.Process,
                    Accumulate(tally?.Energy, delta.Energy, duration),
                    delta.CpuTicks,
                    Accumulate(tally?.Gpu, delta.GpuEnergy, duration),
                    Accumulate(tally?.Platform, delta.PlatformEnergy, duration));
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rentedMatch);
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(processes);
    }

    private static ImmutableArray<WorkloadEnergy> AccumulateWorkloads(AttributionSnapshot? latest, IntervalAttribution interval, TimeSpan duration)
    {
        var before = latest?.Workloads ?? [];
        var match = SortedJoin.Match(before.AsSpan(), interval.Workloads.AsSpan(), static w => w.Key, static w => w.Workload.Key);
        var workloads = new WorkloadEnergy[interval.Workloads.Length];
        for (var i = 0; i < workloads.Length; i++)
        {
            var delta = interval.Workloads[i];
            WorkloadEnergy? tally = match[i] >= 0 ? before[match[i]] : null;
            workloads[i] = new WorkloadEnergy(
                delta.Workload,
                Accumulate(tally?.Energy, delta.Energy, duration),
                delta.CpuMicroseconds,
                Accumulate(tally?.Gpu, delta.GpuEnergy, duration),
                Accumulate(tally?.Platform, delta.PlatformEnergy, duration));
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(workloads);
    }

    /// <summary>
    /// Pods sum their containers; a pod's total lives as long as any of its containers is present. A pod the API lists
    /// before any of its containers has a cgroup is booked at 0 J, so its series starts at zero.
    /// </summary>
    private ImmutableArray<PodEnergy> AccumulatePods(IntervalAttribution interval, TimeSpan duration, HostSample sample)
    {
        var intervalByPod = new SortedDictionary<string, (Energy Energy, Energy Gpu, Energy Platform, string? Name, string? Namespace)>(StringComparer.Ordinal);
        foreach (var delta in interval.Containers)
        {
            var container = (ContainerIdentity)delta.Workload;
            if (container.PodUid is not { } uid)
            {
                continue;
            }

            sample.ContainerMetadata.TryGetValue(container.ContainerId, out var metadata);
            intervalByPod.TryGetValue(uid, out var pod);
            intervalByPod[uid] = (pod.Energy + delta.Energy, pod.Gpu + delta.GpuEnergy, pod.Platform + delta.PlatformEnergy, pod.Name ?? metadata?.PodName, pod.Namespace ?? metadata?.Namespace);
        }

        _podsWithContainers.UnionWith(intervalByPod.Keys);
        foreach (var (uid, listed) in sample.ListedPods)
        {
            if (!_podsWithContainers.Contains(uid))
            {
                intervalByPod.TryAdd(uid, (Energy.Zero, Energy.Zero, Energy.Zero, listed.PodName, listed.Namespace));
            }
        }

        _podsWithContainers.RemoveWhere(uid => !intervalByPod.ContainsKey(uid) && !sample.ListedPods.ContainsKey(uid));
        foreach (var gone in _pods.Keys.Where(uid => !intervalByPod.ContainsKey(uid)).ToList())
        {
            _pods.Remove(gone);
        }

        var pods = new PodEnergy[intervalByPod.Count];
        var index = 0;
        foreach (var (uid, pod) in intervalByPod)
        {
            (EnergyTally Cpu, EnergyTally Gpu, EnergyTally Platform)? before = _pods.TryGetValue(uid, out var known) ? known : null;
            var cpu = Accumulate(before?.Cpu, pod.Energy, duration);
            var gpu = Accumulate(before?.Gpu, pod.Gpu, duration);
            var platform = Accumulate(before?.Platform, pod.Platform, duration);
            _pods[uid] = (cpu, gpu, platform);
            pods[index++] = new PodEnergy(uid, pod.Name, pod.Namespace, cpu, gpu, platform);
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(pods);
    }

    /// <summary>
    /// A zone that could not be read this time keeps its last good reading as the baseline, so the
    /// energy it counted meanwhile is attributed when it reads again instead of being lost.
    /// </summary>
    private static HostSample CarryForwardMissingZones(HostSample previous, HostSample current)
    {
        List<EnergyZoneReading>? missing = null;
        foreach (var before in previous.Zones)
        {
            var found = false;
            foreach (var now in current.Zones)
            {
                if (string.Equals(now.Zone.Id, before.Zone.Id, StringComparison.Ordinal))
                {
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                (missing ??= []).Add(before);
            }
        }

        List<EnergyPoolReading>? missingPools = null;
        foreach (var before in previous.Pools)
        {
            if (!current.Pools.Any(now => string.Equals(now.Device.Id, before.Device.Id, StringComparison.Ordinal)))
            {
                // A lost GPU keeps its last counter and no usage: 0 W now, its progress counted when it returns.
                (missingPools ??= []).Add(new EnergyPoolReading(
                    before.Device, before.Source, before.EnergyMicrojoules, before.MaxEnergyRangeMicrojoules, before.CapacityUnits, [], power: null, before.Gpu));
            }
        }

        if (missing is null && missingPools is null)
        {
            return current;
        }

        return new HostSample(
            current.Timestamp,
            current.MonotonicTime,
            current.Source,
            missing is null ? current.Zones : current.Zones.AddRange(missing),
            current.Cpu,
            current.CpuCount,
            current.Processes,
            current.ClockTicksPerSecond,
            current.Workloads,
            current.ContainerMetadata,
            missingPools is null ? current.Pools : [.. current.Pools.AddRange(missingPools).OrderBy(p => p.Device.Id, StringComparer.Ordinal)])
        {
            UptimeTicks = current.UptimeTicks,
            ListedPods = current.ListedPods,
        };
    }
}
