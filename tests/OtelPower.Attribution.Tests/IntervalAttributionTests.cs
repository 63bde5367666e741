namespace OtelPower.Attribution.Tests;

public sealed class IntervalAttributionTests
{
    [Fact]
    public void Host_energy_is_packages_plus_dram_and_never_adds_core_or_psys()
    {
        var before = SampleBuilder.At(0)
            .Zone(SampleBuilder.Package0, 1_000_000).Zone(SampleBuilder.Core0, 500_000).Zone(SampleBuilder.Dram0, 100_000)
            .Zone(SampleBuilder.Package1, 2_000_000).Zone(SampleBuilder.Psys, 9_000_000).Cpu(0).Build();
        var after = SampleBuilder.At(2)
            .Zone(SampleBuilder.Package0, 21_000_000).Zone(SampleBuilder.Core0, 15_500_000).Zone(SampleBuilder.Dram0, 3_100_000)
            .Zone(SampleBuilder.Package1, 12_000_000).Zone(SampleBuilder.Psys, 60_000_000).Cpu(800).Build();

        var interval = IntervalAttribution.Compute(before, after);

        // 20 J + 3 J + 10 J; core (15 J) is inside package-0 and psys (51 J) covers everything.
        Assert.Equal(33_000_000, interval.HostEnergy.Microjoules);
        Assert.Equal(TimeSpan.FromSeconds(2), interval.Interval);
        Assert.Equal(51_000_000, interval.Zones.Single(z => z.Zone.Name == "psys").Energy.Microjoules);
        Assert.Equal(15_000_000, interval.Zones.Single(z => z.Zone.Name == "core-0").Energy.Microjoules);
    }

    [Fact]
    public void Processes_share_host_energy_by_cpu_time_and_idle_takes_the_rest()
    {
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(1_000)
            .Process(10, 100).Process(20, 50).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 40_000_000).Cpu(1_400)
            .Process(10, 200).Process(20, 100).Build();

        var interval = IntervalAttribution.Compute(before, after);

        // 400 ticks in all: pid 10 used 100 (25 %), pid 20 used 50 (12.5 %), the other 250 were idle.
        Assert.Equal(10_000_000, interval.Processes.Single(p => p.Process.Pid == 10).Energy.Microjoules);
        Assert.Equal(5_000_000, interval.Processes.Single(p => p.Process.Pid == 20).Energy.Microjoules);
        Assert.Equal(25_000_000, interval.IdleEnergy.Microjoules);
    }

    [Fact]
    public void Wrapped_package_counter_yields_the_true_delta()
    {
        const ulong max = 262_143_328_850;
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, max - 3_000_000, max).Cpu(0).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 7_000_000, max).Cpu(100).Build();

        Assert.Equal(10_000_000, IntervalAttribution.Compute(before, after).HostEnergy.Microjoules);
    }

    [Fact]
    public void Process_seen_for_the_first_time_counts_from_its_next_sample()
    {
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 10_000_000).Cpu(100).Process(7, 5_000).Build();

        var process = Assert.Single(IntervalAttribution.Compute(before, after).Processes);
        Assert.True(process.IsNew);
        Assert.Equal(0, process.Energy.Microjoules);
        Assert.Equal(0UL, process.CpuTicks);
    }

    [Fact]
    public void Reused_pid_starts_from_zero()
    {
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Process(42, 9_000, startTicks: 100).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 10_000_000).Cpu(100).Process(42, 30, startTicks: 777).Build();

        var process = Assert.Single(IntervalAttribution.Compute(before, after).Processes);
        Assert.True(process.IsNew);
        Assert.Equal(0, process.Energy.Microjoules);
    }

    [Fact]
    public void Process_ticks_beyond_host_ticks_do_not_create_energy()
    {
        // /proc/stat and /proc/PID/stat are read microseconds apart: a busy host can show skew.
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(1_000).Process(1, 0).Process(2, 0).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 9_000_000).Cpu(1_100).Process(1, 80).Process(2, 40).Build();

        var interval = IntervalAttribution.Compute(before, after);

        Assert.Equal(6_000_000, interval.Processes[0].Energy.Microjoules);
        Assert.Equal(3_000_000, interval.Processes[1].Energy.Microjoules);
        Assert.Equal(0, interval.IdleEnergy.Microjoules);
    }

    [Fact]
    public void Rounding_remainder_goes_to_idle_so_the_books_balance_exactly()
    {
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Process(1, 0).Process(2, 0).Process(3, 0).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 10).Cpu(3).Process(1, 1).Process(2, 1).Process(3, 1).Build();

        var interval = IntervalAttribution.Compute(before, after);

        Assert.All(interval.Processes, p => Assert.Equal(3, p.Energy.Microjoules));
        Assert.Equal(1, interval.IdleEnergy.Microjoules);
    }

    [Fact]
    public void Samples_out_of_order_are_rejected()
    {
        var later = SampleBuilder.At(5).Cpu(0).Build();
        var earlier = SampleBuilder.At(1).Cpu(0).Build();
        Assert.Throws<ArgumentException>(() => IntervalAttribution.Compute(later, earlier));
    }

    [Fact]
    public void Unsorted_processes_are_rejected_by_the_sample()
    {
        var identityA = SampleBuilder.Identity(5, 1);
        var identityB = SampleBuilder.Identity(3, 1);
        Assert.Throws<ArgumentException>(() => new HostSample(
            DateTimeOffset.UnixEpoch, TimeSpan.Zero, EnergySource.Rapl, [], default, 1,
            [new ProcessCpuReading(identityA, 0), new ProcessCpuReading(identityB, 0)], 100));
    }
}
