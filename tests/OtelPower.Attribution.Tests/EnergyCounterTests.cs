namespace OtelPower.Attribution.Tests;

public sealed class EnergyCounterTests
{
    [Theory]
    [InlineData(1_000UL, 5_000UL, 10_000UL, 4_000UL)]
    [InlineData(9_000UL, 1_000UL, 10_000UL, 2_000UL)] // wrapped: (10000 - 9000) + 1000
    [InlineData(10_000UL, 0UL, 10_000UL, 0UL)] // at the range then restarted from zero
    [InlineData(5UL, 5UL, 10_000UL, 0UL)]
    [InlineData(262_143_000_000UL, 500_000UL, 262_143_328_850UL, 828_850UL)] // a real package range
    public void Delta_is_exact_across_a_wrap(ulong previous, ulong current, ulong max, ulong expected) =>
        Assert.Equal(expected, EnergyCounter.DeltaMicrojoules(previous, current, max));

    [Fact]
    public void Backwards_counter_without_a_known_range_is_a_gap_not_a_spike() =>
        Assert.Equal(0UL, EnergyCounter.DeltaMicrojoules(9_000, 1_000, 0));

    [Fact]
    public void Previous_reading_beyond_the_range_is_not_trusted() =>
        Assert.Equal(0UL, EnergyCounter.DeltaMicrojoules(20_000, 1_000, 10_000));
}
