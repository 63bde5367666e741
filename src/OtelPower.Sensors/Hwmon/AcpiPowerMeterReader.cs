using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;

namespace OtelPower.Sensors.Hwmon;

/// <summary>
/// The platform pool from the ACPI power meter (hwmon <c>power_meter</c>, <c>power1_average</c>, integrated over
/// time). Several platform channels (NVIDIA Grace: one "Module Power" per socket) add up to one pool. A channel
/// that fails one read keeps its counter (the time it was out is not integrated).
/// </summary>
public sealed partial class AcpiPowerMeterReader : IEnergyPoolReader
{
    /// <summary>The platform pool's <see cref="PoolDevice.Name"/>, and the JSON <c>platform.source</c>.</summary>
    public const string SourceName = "acpi_power_meter";

    private static readonly PoolDevice Device = new(PlatformPool.Id, PlatformPool.Type, 0, SourceName, "unknown", "ACPI power meter");

    private readonly ImmutableArray<HwmonChannelMeter> _meters;
    private readonly ulong[] _counters;
    private readonly HashSet<string> _failing = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly Lock _gate = new();

    private AcpiPowerMeterReader(ImmutableArray<HwmonChannelMeter> meters, ILogger logger)
    {
        _meters = meters;
        _counters = new ulong[meters.Length];
        _logger = logger;
    }

    /// <summary>The platform channels under <paramref name="sysfsRoot"/>; null when the host has no ACPI power meter.</summary>
    public static AcpiPowerMeterReader? Open(string sysfsRoot, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        var meters = HwmonDiscovery.Discover(sysfsRoot).Where(c => c.Role == HwmonRole.Platform).Select(c => new HwmonChannelMeter(c, timeProvider)).ToImmutableArray();
        if (meters.IsEmpty)
        {
            return null;
        }

        var reader = new AcpiPowerMeterReader(meters, logger);
        reader.Read();
        LogOpened(logger, string.Join(", ", meters.Select(m => m.Channel.File)));
        return reader;
    }

    /// <inheritdoc />
    public ImmutableArray<EnergyPoolReading> Read()
    {
        lock (_gate)
        {
            double? watts = null;
            for (var i = 0; i < _meters.Length; i++)
            {
                var meter = _meters[i];
                if (meter.TryRead(out var counter))
                {
                    _counters[i] = counter;
                    watts = (watts ?? 0) + meter.LastWatts;
                    if (_failing.Remove(meter.Channel.File))
                    {
                        LogRecovered(_logger, meter.Channel.File);
                    }
                }
                else if (_failing.Add(meter.Channel.File))
                {
                    LogFailed(_logger, meter.Channel.File);
                }
            }

            ulong total = 0;
            foreach (var counter in _counters)
            {
                total += counter;
            }

            return [new EnergyPoolReading(Device, PoolEnergySource.Power, total, 0, 1, [], watts is { } w ? new Power(w) : null)];
        }
    }

    public void Dispose()
    {
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Whole-node power from the ACPI power meter: {Files}")]
    private static partial void LogOpened(ILogger logger, string files);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read the power meter {File}; the platform pool keeps its energy until it reads again.")]
    private static partial void LogFailed(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "{File} reads again.")]
    private static partial void LogRecovered(ILogger logger, string file);
}
