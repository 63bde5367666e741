using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Logging;
using OtelPower.Attribution;

namespace OtelPower.Sensors.Hwmon;

/// <summary>
/// The CPU pool from hwmon where RAPL is absent (Ampere smpro, NVIDIA Grace, X-Gene, amd_energy): each CPU
/// channel is one package zone whose counter is the channel's (integrated or wrap-safe) energy, so the engine
/// divides it by CPU time exactly as it divides RAPL. Samples say <c>source = hwmon</c>.
/// </summary>
internal sealed partial class HwmonCpuMeter
{
    private readonly ImmutableArray<(HwmonChannelMeter Meter, EnergyZone Zone)> _channels;
    private readonly HashSet<string> _failing = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    private HwmonCpuMeter(ImmutableArray<(HwmonChannelMeter, EnergyZone)> channels, ILogger logger)
    {
        _channels = channels;
        _logger = logger;
    }

    public int ChannelCount => _channels.Length;

    /// <summary>The CPU channels under <paramref name="sysfsRoot"/> that read now; null when there is none.</summary>
    public static HwmonCpuMeter? Open(string sysfsRoot, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        var channels = ImmutableArray.CreateBuilder<(HwmonChannelMeter, EnergyZone)>();
        foreach (var channel in HwmonDiscovery.Discover(sysfsRoot).Where(c => c.Role == HwmonRole.Cpu))
        {
            var meter = new HwmonChannelMeter(channel, timeProvider);
            if (!meter.TryRead(out _))
            {
                LogUnreadable(logger, channel.File);
                continue;
            }

            var name = $"{channel.ChipName}-{channels.Count.ToString(CultureInfo.InvariantCulture)}";
            channels.Add((meter, new EnergyZone("hwmon:" + channel.Id, name, null, EnergyZoneKind.Package)));
        }

        if (channels.Count == 0)
        {
            return null;
        }

        var meters = channels.ToImmutable();
        LogOpened(logger, meters.Length, string.Join(", ", meters.Select(c => $"{c.Item2.Name} ({c.Item1.Channel.File}, {c.Item1.Channel.Label ?? "no label"})")));
        return new HwmonCpuMeter(meters, logger);
    }

    /// <summary>One reading per CPU channel that reads now; a failing one is left out (the ledger keeps its last) and logged once.</summary>
    public ImmutableArray<EnergyZoneReading> Read()
    {
        var readings = ImmutableArray.CreateBuilder<EnergyZoneReading>(_channels.Length);
        foreach (var (meter, zone) in _channels)
        {
            if (meter.TryRead(out var counter))
            {
                if (_failing.Remove(zone.Id))
                {
                    LogRecovered(_logger, meter.Channel.File);
                }

                readings.Add(new EnergyZoneReading(zone, counter, 0));
            }
            else if (_failing.Add(zone.Id))
            {
                LogFailed(_logger, meter.Channel.File);
            }
        }

        return readings.ToImmutable();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reading CPU power from {Count} hwmon channels instead of the estimator (source=hwmon): {Channels}")]
    private static partial void LogOpened(ILogger logger, int count, string channels);

    [LoggerMessage(Level = LogLevel.Warning, Message = "hwmon CPU channel {File} cannot be read; it is not used.")]
    private static partial void LogUnreadable(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read {File}; its energy is counted again when it reads.")]
    private static partial void LogFailed(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "{File} reads again.")]
    private static partial void LogRecovered(ILogger logger, string file);
}
