using System.Globalization;

namespace OtelPower.Sensors.Hwmon;

/// <summary>
/// Turns one hwmon channel into a cumulative microjoule counter that starts at 0 and never wraps, so the
/// engine sees the same shape for every channel. Not thread-safe; one sampler owns it.
/// </summary>
/// <remarks>
/// <para><b>Power</b> (µW): the trapezoid between consecutive reads on the injected clock, exact in whole
/// microjoules. The first read, and the first after a failed one, is a new baseline: time the channel could
/// not be read is not integrated.</para>
/// <para><b>Energy</b> (µJ): the delta between reads. The kernel prints these as 64-bit values and the drivers
/// that read a 32-bit register (amd_energy, i915) widen it themselves, yet a counter that never passed 32 bits
/// and steps back from its top half is taken as a 32-bit register wrapping: delta = 2^32 - previous + current.
/// Any other backwards step is a reset (driver reload) and counts 0 J, as the engine does for a counter without
/// a range.</para>
/// </remarks>
internal sealed class HwmonChannelMeter
{
    private const ulong ThirtyTwoBits = 1UL << 32;

    private readonly TimeProvider _timeProvider;
    private ulong? _previousEnergy;
    private (ulong Microwatts, long Timestamp)? _previousPower;
    private UInt128 _microwattTicks;
    private ulong _energyMicrojoules;

    public HwmonChannelMeter(HwmonChannel channel, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Channel = channel;
        _timeProvider = timeProvider;
    }

    public HwmonChannel Channel { get; }

    /// <summary>The power last read (power channels), or the mean since the previous read (energy channels).</summary>
    public double? LastWatts { get; private set; }

    /// <summary>Reads the channel now. False (nothing changes but the power baseline) when the file cannot be read.</summary>
    public bool TryRead(out ulong counterMicrojoules)
    {
        var now = _timeProvider.GetTimestamp();
        if (!TryReadValue(Channel.File, out var value))
        {
            counterMicrojoules = Counter;
            _previousPower = null;
            return false;
        }

        if (Channel.Quantity == HwmonQuantity.Power)
        {
            if (_previousPower is { } previous && now > previous.Timestamp)
            {
                _microwattTicks += ((UInt128)previous.Microwatts + value) * (ulong)(now - previous.Timestamp);
            }

            _previousPower = (value, now);
            LastWatts = value / 1e6;
        }
        else
        {
            if (_previousEnergy is { } before)
            {
                var delta = EnergyDelta(before, value);
                var seconds = _previousPower is { } last ? _timeProvider.GetElapsedTime(last.Timestamp, now).TotalSeconds : 0;
                LastWatts = seconds > 0 ? delta / 1e6 / seconds : LastWatts;
                _energyMicrojoules += delta;
            }

            _previousEnergy = value;
            _previousPower = (0, now); // the time of this read, for the mean power
        }

        counterMicrojoules = Counter;
        return true;
    }

    /// <summary>The energy between two reads of a counter, by the wrap rule of the type's remarks.</summary>
    public static ulong EnergyDelta(ulong previous, ulong current)
    {
        if (current >= previous)
        {
            return current - previous;
        }

        return previous is >= ThirtyTwoBits / 2 and < ThirtyTwoBits ? ThirtyTwoBits - previous + current : 0;
    }

    private ulong Counter => Channel.Quantity == HwmonQuantity.Power
        ? (ulong)(_microwattTicks / (2 * (UInt128)(ulong)_timeProvider.TimestampFrequency))
        : _energyMicrojoules;

    private static bool TryReadValue(string path, out ulong value)
    {
        value = 0;
        try
        {
            // The kernel prints a signed long; a negative value is an error code some drivers leak.
            return long.TryParse(File.ReadAllText(path).AsSpan().Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var signed)
                && signed >= 0
                && (value = (ulong)signed) == (ulong)signed;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false; // ENODATA from a sleeping GPU, a chip that went away
        }
    }
}
