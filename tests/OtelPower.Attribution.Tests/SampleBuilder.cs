using System.Collections.Immutable;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;

namespace OtelPower.Attribution.Tests;

/// <summary>Builds host samples by hand, with exact counters, for the engine's tests.</summary>
internal sealed class SampleBuilder
{
    public static readonly EnergyZone Package0 = new("intel-rapl:0", "package-0", null, EnergyZoneKind.Package);
    public static readonly EnergyZone Core0 = new("intel-rapl:0:0", "core-0", "intel-rapl:0", EnergyZoneKind.Core);
    public static readonly EnergyZone Dram0 = new("intel-rapl:0:1", "dram-0", "intel-rapl:0", EnergyZoneKind.Dram);
    public static readonly EnergyZone Package1 = new("intel-rapl:1", "package-1", null, EnergyZoneKind.Package);
    public static readonly EnergyZone Psys = new("intel-rapl:2", "psys", null, EnergyZoneKind.Psys);

    private readonly List<EnergyZoneReading> _zones = [];
    private readonly List<ProcessCpuReading> _processes = [];
    private readonly List<ContainerCpuReading> _containers = [];
    private readonly List<WorkloadCpuReading> _workloads = [];
    private readonly Dictionary<string, ContainerMetadata> _metadata = [];
    private readonly List<EnergyPoolReading> _pools = [];
    private TimeSpan _time;
    private ulong _uptimeTicks;
    private CpuTimes _cpu;

    private readonly Dictionary<string, ContainerMetadata> _listedPods = [];

    public static SampleBuilder At(double seconds) => new() { _time = TimeSpan.FromSeconds(seconds) };

    public SampleBuilder Zone(EnergyZone zone, ulong microjoules, ulong maxRange = 262_143_328_850)
    {
        _zones.Add(new EnergyZoneReading(zone, microjoules, maxRange));
        return this;
    }

    public SampleBuilder Cpu(ulong totalTicks, ulong idleTicks = 0)
    {
        _cpu = new CpuTimes(totalTicks, idleTicks, 0);
        return this;
    }

    public SampleBuilder Process(int pid, ulong cpuTicks, ulong startTicks = 1000, string comm = "worker", WorkloadIdentity? container = null)
    {
        _processes.Add(new ProcessCpuReading(Identity(pid, startTicks, comm, container), cpuTicks));
        return this;
    }

    /// <summary>A container cgroup's CPU time in microseconds (ticks are 10 ms at USER_HZ 100).</summary>
    public SampleBuilder Container(ContainerIdentity container, ulong cpuMicroseconds, string? podName = null, string? ns = null)
    {
        _containers.Add(new ContainerCpuReading(container, cpuMicroseconds));
        if (podName is not null)
        {
            _metadata[container.ContainerId] = new ContainerMetadata(podName, ns, "main", ContainerMetadata.NoLabels);
        }

        return this;
    }

    /// <summary>A workload of any kind (a VM) with its CPU time in microseconds.</summary>
    public SampleBuilder Workload(WorkloadIdentity workload, ulong cpuMicroseconds)
    {
        _workloads.Add(new WorkloadCpuReading(workload, cpuMicroseconds));
        return this;
    }

    public static PoolDevice GpuDevice(int index) => new($"GPU-{index:D8}-0000-0000-0000-000000000000", "gpu", index, $"gpu-{index}", "nvidia", "Test GPU");

    /// <summary>A GPU pool: its cumulative counter and each pid's mean SM utilisation over the interval, in percent.</summary>
    public SampleBuilder Gpu(int index, ulong microjoules, params (int Pid, double SmPercent)[] usage) =>
        Gpu(index, microjoules, 0, usage);

    public SampleBuilder Gpu(int index, ulong microjoules, ulong maxRange, params (int Pid, double SmPercent)[] usage)
    {
        _pools.Add(new EnergyPoolReading(
            GpuDevice(index), PoolEnergySource.Counter, microjoules, maxRange, 10_000,
            [.. usage.OrderBy(u => u.Pid).Select(u => new PoolProcessUsage(u.Pid, (ulong)Math.Round(u.SmPercent * 100)))]));
        return this;
    }

    /// <summary>A whole-node meter's pool (no per-process usage): its cumulative counter.</summary>
    public SampleBuilder Platform(ulong microjoules)
    {
        _pools.Add(new EnergyPoolReading(new PoolDevice(PlatformPool.Id, PlatformPool.Type, 0, "acpi_power_meter", "unknown", null), PoolEnergySource.Power, microjoules, 0, 1, []));
        return this;
    }

    public static ContainerIdentity ContainerOf(string id, string? podUid = null) => new(id, "containerd", podUid, podUid is null ? null : "burstable", "/kubepods/" + id);

    public HostSample Build(EnergySource source = EnergySource.Rapl)
    {
        var processes = _processes.OrderBy(p => p.Key).ToImmutableArray();
        return new HostSample(
            DateTimeOffset.UnixEpoch + _time, _time, source, [.. _zones], _cpu, 4, processes, 100,
            [.. _containers.Select(c => c.AsWorkload()).Concat(_workloads).OrderBy(w => w.Key)],
            _metadata.ToImmutableDictionary(),
            [.. _pools.OrderBy(p => p.Device.Id, StringComparer.Ordinal)])
        {
            UptimeTicks = _uptimeTicks,
            ListedPods = _listedPods.ToImmutableDictionary(StringComparer.Ordinal),
        };
    }

    /// <summary>A pod the orchestrator lists on this node, with or without containers.</summary>
    public SampleBuilder Listed(string podUid, string podName, string ns)
    {
        _listedPods[podUid] = new ContainerMetadata(podName, ns, null, ContainerMetadata.NoLabels);
        return this;
    }

    /// <summary>Time since boot when the sample began, in ticks (0: unknown, first-interval attribution off).</summary>
    public SampleBuilder Uptime(ulong ticks)
    {
        _uptimeTicks = ticks;
        return this;
    }

    private static readonly Dictionary<(ProcessKey, string?), ProcessIdentity> Identities = [];

    /// <summary>The same identity object for the same key, as the procfs reader's cache provides.</summary>
    public static ProcessIdentity Identity(int pid, ulong startTicks, string comm = "worker", WorkloadIdentity? container = null)
    {
        lock (Identities)
        {
            var key = new ProcessKey(pid, startTicks);
            if (!Identities.TryGetValue((key, container?.Id), out var identity))
            {
                identity = new ProcessIdentity(key, comm, comm, null, false, container);
                Identities[(key, container?.Id)] = identity;
            }

            return identity;
        }
    }
}
