using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Logging;
using OtelPower.Attribution.Pools;
using OtelPower.Sensors.Drm;

namespace OtelPower.Sensors.Hwmon;

/// <summary>
/// AMD and Intel GPUs from hwmon (amdgpu power, i915/xe energy) as one energy pool each, with per-process
/// usage from DRM fdinfo engine time (<see cref="DrmUsageReader"/>): the device whose PCI address matches
/// <c>drm-pdev</c>. <see cref="PoolDevice.Id"/> is that PCI address (these GPUs have no UUID in sysfs).
/// </summary>
public sealed partial class HwmonGpuReader : IEnergyPoolReader
{
    private readonly ImmutableArray<(HwmonChannelMeter Meter, PoolDevice Device)> _gpus;
    private readonly DrmUsageReader _usage;
    private readonly HashSet<string> _failing = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly Lock _gate = new();

    private HwmonGpuReader(ImmutableArray<(HwmonChannelMeter, PoolDevice)> gpus, DrmUsageReader usage, ILogger logger)
    {
        _gpus = gpus;
        _usage = usage;
        _logger = logger;
    }

    public int GpuCount => _gpus.Length;

    /// <summary>The hwmon GPUs under <paramref name="sysfsRoot"/>; null (and fdinfo is never read) when there is none.</summary>
    public static HwmonGpuReader? Open(string sysfsRoot, string procfsRoot, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        var gpus = ImmutableArray.CreateBuilder<(HwmonChannelMeter, PoolDevice)>();
        foreach (var channel in HwmonDiscovery.Discover(sysfsRoot).Where(c => c.Role == HwmonRole.Gpu))
        {
            var index = gpus.Count;
            var vendor = channel.ChipName == "amdgpu" ? "amd" : "intel";
            var id = channel.PciAddress ?? "hwmon:" + channel.Id;
            var device = new PoolDevice(id, PoolAttribution.GpuType, index, $"{channel.ChipName}-{index.ToString(CultureInfo.InvariantCulture)}", vendor, null);
            var meter = new HwmonChannelMeter(channel, timeProvider);
            meter.TryRead(out _);
            gpus.Add((meter, device));
        }

        if (gpus.Count == 0)
        {
            return null;
        }

        var opened = gpus.ToImmutable();
        var reader = new HwmonGpuReader(opened, new DrmUsageReader(procfsRoot, timeProvider), logger);
        reader._usage.Read(); // the baseline of every client's engine time
        LogOpened(logger, opened.Length, string.Join(", ", opened.Select(g => $"{g.Item2.Name} {g.Item2.Id} ({g.Item1.Channel.File})")));
        return reader;
    }

    /// <inheritdoc />
    public ImmutableArray<EnergyPoolReading> Read()
    {
        lock (_gate)
        {
            var (capacity, usageByDevice) = _usage.Read();
            var readings = ImmutableArray.CreateBuilder<EnergyPoolReading>(_gpus.Length);
            foreach (var (meter, device) in _gpus)
            {
                if (!meter.TryRead(out var counter))
                {
                    if (_failing.Add(device.Id))
                    {
                        LogFailed(_logger, device.Name, meter.Channel.File);
                    }

                    continue;
                }

                if (_failing.Remove(device.Id))
                {
                    LogRecovered(_logger, device.Name, meter.Channel.File);
                }

                var source = meter.Channel.Quantity == HwmonQuantity.Energy ? PoolEnergySource.Counter : PoolEnergySource.Power;
                var usage = usageByDevice.GetValueOrDefault(device.Id, []);
                var utilisation = usage.IsEmpty ? 0 : Math.Min(1.0, usage.Sum(u => (double)u.UsageUnits) / capacity);
                readings.Add(new EnergyPoolReading(
                    device,
                    source,
                    counter,
                    maxEnergyRangeMicrojoules: 0,
                    capacity,
                    usage,
                    meter.LastWatts is { } watts ? new Attribution.Power(watts) : null,
                    new GpuStatistics(utilisation, null, null)));
            }

            return readings.ToImmutable();
        }
    }

    public void Dispose()
    {
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reading {Count} GPUs from hwmon, per-process time from DRM fdinfo: {Gpus}")]
    private static partial void LogOpened(ILogger logger, int count, string gpus);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Gpu}: cannot read {File}; it is left out of the GPU pools until it reads again.")]
    private static partial void LogFailed(ILogger logger, string gpu, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Gpu}: {File} reads again.")]
    private static partial void LogRecovered(ILogger logger, string gpu, string file);
}
