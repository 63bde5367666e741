using Microsoft.Extensions.Time.Testing;
using OtelPower.Sensors.Hwmon;

namespace OtelPower.Sensors.Tests.Hwmon;

public sealed class HwmonChannelMeterTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "otelpower-hwmon-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new();

    public HwmonChannelMeterTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private HwmonChannelMeter Meter(HwmonQuantity quantity, string value)
    {
        var file = Path.Combine(_directory, quantity == HwmonQuantity.Power ? "power1_average" : "energy1_input");
        File.WriteAllText(file, value + "\n");
        return new HwmonChannelMeter(new HwmonChannel("hwmon0:x1", "test", quantity, 1, file, null, HwmonRole.Cpu, null), _clock);
    }

    private void Write(HwmonChannelMeter meter, string value) => File.WriteAllText(meter.Channel.File, value + "\n");

    private ulong Read(HwmonChannelMeter meter)
    {
        Assert.True(meter.TryRead(out var counter));
        return counter;
    }

    [Fact]
    public void Power_is_integrated_by_the_trapezoid_exactly()
    {
        var meter = Meter(HwmonQuantity.Power, "100000000"); // 100 W
        Assert.Equal(0UL, Read(meter));

        _clock.Advance(TimeSpan.FromSeconds(2));
        Write(meter, "200000000");
        Assert.Equal(300_000_000UL, Read(meter)); // (100 + 200) / 2 W x 2 s = 300 J
        Assert.Equal(200.0, meter.LastWatts);

        _clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(400_000_000UL, Read(meter));
    }

    [Fact]
    public void Time_a_power_channel_could_not_be_read_is_not_integrated()
    {
        var meter = Meter(HwmonQuantity.Power, "100000000");
        Read(meter);
        File.Delete(meter.Channel.File);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(meter.TryRead(out var during));
        Assert.Equal(0UL, during);

        Write(meter, "100000000");
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0UL, Read(meter)); // a new baseline
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(100_000_000UL, Read(meter));
    }

    [Fact]
    public void Energy_counter_deltas_add_up_from_zero()
    {
        var meter = Meter(HwmonQuantity.Energy, "5000000000");
        Assert.Equal(0UL, Read(meter));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Write(meter, "5050000000");
        Assert.Equal(50_000_000UL, Read(meter));
        Assert.Equal(50.0, meter.LastWatts);
    }

    [Fact]
    public void Wrapped_32_bit_counter_yields_the_true_delta()
    {
        var meter = Meter(HwmonQuantity.Energy, "4294000000"); // amd_energy socket near 2^32 µJ
        Read(meter);
        Write(meter, "1000000");
        Assert.Equal(967_296UL + 1_000_000UL, Read(meter));
    }

    [Fact]
    public void Counter_that_restarts_counts_nothing_for_that_read_and_goes_on_from_there()
    {
        var meter = Meter(HwmonQuantity.Energy, "987654321000"); // past 32 bits: a step back is a reset, not a wrap
        Read(meter);
        Write(meter, "1000");
        Assert.Equal(0UL, Read(meter));
        Write(meter, "3000");
        Assert.Equal(2000UL, Read(meter));
    }

    [Theory]
    [InlineData("-61")]
    [InlineData("")]
    [InlineData("12 W")]
    public void Malformed_or_error_value_is_a_failed_read(string value)
    {
        var meter = Meter(HwmonQuantity.Power, value);
        Assert.False(meter.TryRead(out _));
    }

    [Theory]
    [InlineData(100UL, 200UL, 100UL)]
    [InlineData(4_294_967_000UL, 296UL, 592UL)]
    [InlineData(1_000UL, 10UL, 0UL)]
    [InlineData(5_000_000_000UL, 10UL, 0UL)]
    public void Energy_delta_follows_the_wrap_rule(ulong previous, ulong current, ulong expected)
    {
        Assert.Equal(expected, HwmonChannelMeter.EnergyDelta(previous, current));
    }
}
