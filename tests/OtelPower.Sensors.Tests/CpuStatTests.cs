using System.Text;
using OtelPower.Sensors.Procfs;

namespace OtelPower.Sensors.Tests;

public sealed class CpuStatTests
{
    [Fact]
    public void Guest_time_is_not_added_twice()
    {
        // guest (300) and guest_nice (20) are already inside user and nice.
        Assert.True(CpuStat.TryParseCpuLine("cpu  1000 100 400 8000 200 50 50 200 300 20"u8, out var times));
        Assert.Equal(10_000UL, times.TotalTicks);
        Assert.Equal(8_000UL, times.IdleTicks);
        Assert.Equal(200UL, times.IowaitTicks);
        Assert.Equal(1_800UL, times.BusyTicks);
    }

    [Fact]
    public void Old_kernels_with_four_columns_are_read() // before 2.6
    {
        Assert.True(CpuStat.TryParseCpuLine("cpu  10 20 30 40"u8, out var times));
        Assert.Equal(100UL, times.TotalTicks);
        Assert.Equal(0UL, times.IowaitTicks);
    }

    [Theory]
    [InlineData("cpu  10 20 30")]
    [InlineData("cpu  10 x 30 40")]
    [InlineData("intr 1 2 3 4")]
    [InlineData("cpu")]
    public void Malformed_cpu_lines_are_rejected(string line) => Assert.False(CpuStat.TryParseCpuLine(Encoding.UTF8.GetBytes(line), out _));

    [Fact]
    public void The_file_gives_totals_and_the_cpu_count()
    {
        var text = File.ReadAllBytes(Path.Combine(FixtureCopy.FixturesDirectory, "two-socket", "proc", "stat"));
        Assert.True(CpuStat.TryParse(text, out var times, out var cpus));
        Assert.Equal(4, cpus);
        Assert.Equal(10_000UL, times.TotalTicks);
    }
}
