using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;
using OtelPower.Sensors.Cgroups;
using OtelPower.Sensors.Estimation;
using OtelPower.Sensors.Hwmon;
using OtelPower.Sensors.Powercap;
using OtelPower.Sensors.Procfs;
using OtelPower.Sensors.Vms;

namespace OtelPower.Sensors;

/// <summary>
/// Reads one <see cref="HostSample"/> from the host: RAPL zones (or the estimate), /proc/stat, every
/// process, every workload cgroup (containers, VMs). Chooses its energy source once, at construction, and says why in
/// the log. <see cref="Sample"/> never throws for what a live host does (a process that exits, a zone
/// that fails one read); it throws only when /proc/stat itself cannot be read.
/// </summary>
public sealed partial class HostSampler
{
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<HostSampler> _logger;
    private readonly ProcfsReader _procfs;
    private readonly ImmutableArray<DiscoveredZone> _zones;
    private readonly HashSet<string> _failingZones = new(StringComparer.Ordinal);
    private readonly UtilisationEstimator? _estimator;
    private readonly HwmonCpuMeter? _hwmonCpu;
    private readonly CgroupCpuReader? _cgroups;
    private readonly long _startTimestamp;
    private readonly IReadOnlyList<IEnergyPoolReader> _poolReaders;
    private readonly bool _isHypervisorTree;

    private const string EstimatorFallback = "Falling back to the CPU-utilisation estimator: every figure is labelled source=estimate.";
    private const string HwmonFallback = "Reading CPU power from hwmon instead (source=hwmon).";

    public HostSampler(SensorOptions options, TimeProvider timeProvider, ILogger<HostSampler> logger, IReadOnlyList<IEnergyPoolReader>? poolReaders = null)
    {
        _poolReaders = poolReaders ?? [];
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _timeProvider = timeProvider;
        _logger = logger;
        _procfs = new ProcfsReader(options.ProcfsRoot, options.IncludeCommandLine, readContainers: !string.IsNullOrEmpty(options.CgroupfsRoot));
        ValidateProcfs();

        var powercap = string.IsNullOrEmpty(options.PowercapPath) ? PowercapReader.Discover(options.SysfsRoot) : PowercapReader.DiscoverAt(options.PowercapPath);
        var hasHwmonCpu = HwmonDiscovery.Discover(options.SysfsRoot).Any(c => c.Role == HwmonRole.Cpu);
        _zones = ChooseZones(powercap, hasHwmonCpu ? HwmonFallback : EstimatorFallback);
        _isHypervisorTree = powercap.IsHypervisorTree;
        if (_zones.IsEmpty)
        {
            // Without RAPL, CPU power channels in hwmon (Ampere, Grace, X-Gene, amd_energy) are a measurement;
            // only a host without either is estimated.
            _hwmonCpu = hasHwmonCpu ? HwmonCpuMeter.Open(options.SysfsRoot, timeProvider, logger) : null;
            if (_hwmonCpu is null)
            {
                if (hasHwmonCpu)
                {
                    LogEstimating(_logger);
                }

                _estimator = new UtilisationEstimator(options.Estimator);
            }
        }

        if (!string.IsNullOrEmpty(options.CgroupfsRoot))
        {
            var cgroups = new CgroupCpuReader(options.CgroupfsRoot);
            if (cgroups.IsAvailable)
            {
                _cgroups = cgroups;
                LogCgroups(_logger, cgroups.CgroupfsRoot, cgroups.Version);
            }
            else
            {
                LogNoCgroups(_logger, options.CgroupfsRoot);
            }
        }

        _startTimestamp = timeProvider.GetTimestamp();
    }

    public EnergySource Source =>
        _estimator is not null ? EnergySource.Estimate
        : _hwmonCpu is not null ? EnergySource.Hwmon
        : _isHypervisorTree ? EnergySource.Hypervisor
        : EnergySource.Rapl;

    /// <summary>Reads the host now.</summary>
    /// <param name="containerMetadata">Names of containers known at this instant (from the Kubernetes API), if any.</param>
    /// <param name="podMetadata">
    /// Names of pods by pod UID (container name unset). The API lists a pod before its containers have ids, and
    /// the UID is in the cgroup path, so a container whose id is not known yet is named by its pod at once.
    /// </param>
    public HostSample Sample(
        ImmutableDictionary<string, ContainerMetadata>? containerMetadata = null,
        IReadOnlyDictionary<string, ContainerMetadata>? podMetadata = null)
    {
        var monotonic = _timeProvider.GetElapsedTime(_startTimestamp);
        var timestamp = _timeProvider.GetUtcNow();
        var (cpu, cpuCount) = _procfs.ReadCpu();
        // Read before the processes: one that started after it and is absent from this sample's list is new
        // in the next interval, and its whole CPU time belongs there.
        var uptimeTicks = _procfs.ReadUptimeTicks(ClockTicks.PerSecond);
        var processes = _procfs.ReadProcesses();
        var workloads = VmReadings.Join(_cgroups?.ReadWorkloads() ?? [], processes, ClockTicks.PerSecond);
        var zones = _estimator is { } estimator ? [estimator.Read(cpu, cpuCount, monotonic)] : _hwmonCpu is { } hwmon ? hwmon.Read() : ReadZones();
        containerMetadata = NameByPod(workloads, containerMetadata, podMetadata);
        return new HostSample(timestamp, monotonic, Source, zones, cpu, cpuCount, processes, ClockTicks.PerSecond, workloads, containerMetadata, ReadPools())
        {
            UptimeTicks = uptimeTicks,
            ListedPods = podMetadata ?? ImmutableDictionary<string, ContainerMetadata>.Empty,
        };
    }

    private static ImmutableDictionary<string, ContainerMetadata>? NameByPod(
        ImmutableArray<WorkloadCpuReading> workloads,
        ImmutableDictionary<string, ContainerMetadata>? containerMetadata,
        IReadOnlyDictionary<string, ContainerMetadata>? podMetadata)
    {
        if (podMetadata is null || podMetadata.Count == 0)
        {
            return containerMetadata;
        }

        ImmutableDictionary<string, ContainerMetadata>.Builder? named = null;
        foreach (var workload in workloads)
        {
            if (workload.Workload is ContainerIdentity { PodUid: { } uid } container
                && containerMetadata?.ContainsKey(container.ContainerId) != true
                && podMetadata.TryGetValue(uid, out var pod))
            {
                named ??= (containerMetadata ?? ImmutableDictionary<string, ContainerMetadata>.Empty.WithComparers(StringComparer.Ordinal)).ToBuilder();
                named[container.ContainerId] = pod;
            }
        }

        return named?.ToImmutable() ?? containerMetadata;
    }

    /// <summary>Device pools (GPUs) from every reader; a reader leaves out what fails, it never throws.</summary>
    private ImmutableArray<EnergyPoolReading> ReadPools()
    {
        if (_poolReaders.Count == 0)
        {
            return [];
        }

        var pools = new List<EnergyPoolReading>();
        foreach (var reader in _poolReaders)
        {
            pools.AddRange(reader.Read());
        }

        pools.Sort(static (a, b) => string.CompareOrdinal(a.Device.Id, b.Device.Id));
        return [.. pools];
    }

    private ImmutableArray<EnergyZoneReading> ReadZones()
    {
        var readings = ImmutableArray.CreateBuilder<EnergyZoneReading>(_zones.Length);
        foreach (var zone in _zones)
        {
            if (PowercapReader.TryRead(zone, out var reading, out var error))
            {
                if (_failingZones.Remove(zone.Zone.Id))
                {
                    LogZoneRecovered(_logger, zone.EnergyFile);
                }

                readings.Add(reading);
            }
            else if (_failingZones.Add(zone.Zone.Id))
            {
                // Logged when a zone starts failing and when it recovers, not every sample; meanwhile the
                // ledger keeps its last reading, so the energy counted in between is attributed later.
                LogZoneFailed(_logger, zone.EnergyFile, error.ToString());
            }
        }

        return readings.DrainToImmutable();
    }

    private void ValidateProcfs()
    {
        try
        {
            _procfs.ReadCpu();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            var problem = exception switch
            {
                FileNotFoundException or DirectoryNotFoundException => "not found; --procfs must name a procfs root such as /proc",
                InvalidDataException => exception.Message,
                _ => exception.Message,
            };
            throw new SensorConfigurationException($"Cannot read CPU time from {_procfs.StatPath}: {problem}", exception);
        }
    }

    /// <summary>RAPL when every package zone reads; unreadable non-package zones are dropped with a warning.</summary>
    private ImmutableArray<DiscoveredZone> ChooseZones(PowercapReader powercap, string fallback)
    {
        if (powercap.Zones.IsEmpty)
        {
            LogNoRapl(_logger, powercap.PowercapDirectory, fallback);
            return [];
        }

        var usable = ImmutableArray.CreateBuilder<DiscoveredZone>();
        foreach (var zone in powercap.Zones)
        {
            if (PowercapReader.TryRead(zone, out _, out var error))
            {
                usable.Add(zone);
                continue;
            }

            if (zone.Zone.Kind == EnergyZoneKind.Package || !powercap.Zones.Any(z => z.Zone.Kind == EnergyZoneKind.Package))
            {
                if (error == ZoneReadError.PermissionDenied)
                {
                    LogRaplPermissionDenied(_logger, zone.EnergyFile, fallback);
                }
                else
                {
                    LogRaplUnreadable(_logger, zone.EnergyFile, error.ToString(), fallback);
                }

                return [];
            }

            LogZoneDropped(_logger, zone.EnergyFile, error.ToString());
        }

        if (!usable.Any(z => z.Zone.Kind == EnergyZoneKind.Package))
        {
            LogNoRapl(_logger, powercap.PowercapDirectory, fallback);
            return [];
        }

        if (powercap.IsHypervisorTree)
        {
            LogHypervisorTree(_logger, powercap.PowercapDirectory);
        }

        LogRapl(_logger, usable.Count, string.Join(", ", usable.Select(z => z.Zone.Name)));
        return usable.ToImmutable();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No RAPL zones under {Directory} (a VM, a cloud instance, ARM, or a container with /sys masked). {Fallback}")]
    private static partial void LogNoRapl(ILogger logger, string directory, string fallback);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read {File}: permission denied (RAPL counters are root-only since CVE-2020-8694). Run the agent as root, or grant read access to energy_uj. {Fallback}")]
    private static partial void LogRaplPermissionDenied(ILogger logger, string file, string fallback);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read {File} ({Error}). {Fallback}")]
    private static partial void LogRaplUnreadable(ILogger logger, string file, string error, string fallback);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The hwmon CPU channels cannot be read: falling back to the CPU-utilisation estimator; every figure is labelled source=estimate.")]
    private static partial void LogEstimating(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leaving out the RAPL zone {File} ({Error}); the packages are read.")]
    private static partial void LogZoneDropped(ILogger logger, string file, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Directory} is written by the OtelPower agent on this VM's hypervisor: every figure is labelled source=hypervisor.")]
    private static partial void LogHypervisorTree(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reading {Count} RAPL zones: {Zones}")]
    private static partial void LogRapl(ILogger logger, int count, string zones);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read {File} ({Error}); its energy is kept and attributed when it reads again.")]
    private static partial void LogZoneFailed(ILogger logger, string file, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "{File} reads again.")]
    private static partial void LogZoneRecovered(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "Measuring containers from cgroup {Version} under {Root}")]
    private static partial void LogCgroups(ILogger logger, string root, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "No cgroup hierarchy under {Root}: containers are not measured.")]
    private static partial void LogNoCgroups(ILogger logger, string root);
}
