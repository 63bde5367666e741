namespace OtelPower.Attribution.Tests;

public sealed class PlatformPoolTests
{
    [Fact]
    public void Other_energy_is_the_platform_less_the_cpu_and_gpu_pools_and_no_consumer_gets_any()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Process(10, 0).Gpu(0, 0).Platform(0).Build());
        var snapshot = ledger.Record(SampleBuilder.At(1).Zone(SampleBuilder.Package0, 100_000_000).Cpu(400).Process(10, 100)
            .Gpu(0, 150_000_000, (10, 50)).Platform(300_000_000).Build())!;

        Assert.Equal(50_000_000, snapshot.PlatformOther!.Value.Interval.Microjoules); // 300 - 100 - 150 J
        Assert.Equal(50.0, snapshot.PlatformOther.Value.Power.Watts, 9);
        Assert.Equal(300_000_000, snapshot.Platform!.Value.Energy.Total.Microjoules);
        Assert.Equal(300_000_000, snapshot.Platform.Value.Idle.Total.Microjoules);
        Assert.False(snapshot.Platform.Value.IsGpu);
        var process = snapshot.Processes.Single();
        Assert.Equal(75_000_000, process.Gpu.Total.Microjoules);
        Assert.Equal(100_000_000, snapshot.Host.Total.Microjoules);
    }

    [Fact]
    public void Other_energy_never_goes_below_zero_and_accumulates_interval_by_interval()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Platform(0).Build());
        var first = ledger.Record(SampleBuilder.At(1).Zone(SampleBuilder.Package0, 200_000_000).Cpu(400).Platform(150_000_000).Build())!;
        var second = ledger.Record(SampleBuilder.At(2).Zone(SampleBuilder.Package0, 300_000_000).Cpu(800).Platform(400_000_000).Build())!;

        Assert.Equal(0, first.PlatformOther!.Value.Interval.Microjoules); // the meter lagged: 150 J < 200 J of CPU
        Assert.Equal(150_000_000, second.PlatformOther!.Value.Interval.Microjoules);
        Assert.Equal(150_000_000, second.PlatformOther.Value.Total.Microjoules);
    }

    [Fact]
    public void Without_a_platform_meter_there_is_no_other_energy()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Build());
        var snapshot = ledger.Record(SampleBuilder.At(1).Zone(SampleBuilder.Package0, 1).Cpu(400).Build())!;

        Assert.Null(snapshot.PlatformOther);
        Assert.Null(snapshot.Platform);
    }
}
