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

    [Fact]
    public void Attributed_other_energy_follows_cpu_time_in_both_views_and_its_remainder_is_platform_idle()
    {
        var container = SampleBuilder.ContainerOf("c1", podUid: "pod-a");
        var ledger = new EnergyLedger(attributePlatformOther: true);
        ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Process(10, 0).Process(11, 0, container: container)
            .Container(container, 0, "batch-1", "jobs").Gpu(0, 0).Platform(0).Build());
        var first = ledger.Record(SampleBuilder.At(1).Zone(SampleBuilder.Package0, 100_000_000).Cpu(400).Process(10, 100).Process(11, 200, container: container)
            .Container(container, 2_000_000, "batch-1", "jobs").Gpu(0, 150_000_000).Platform(300_000_000).Build())!;

        // other = 300 - 100 - 150 = 50 J, over D = 4 s of host CPU: pid 10 used 1 s, pid 11 (and its container) 2 s.
        Assert.True(first.AttributesPlatform);
        Assert.Equal(50_000_000, first.PlatformOther!.Value.Interval.Microjoules);
        var processes = first.Processes.ToDictionary(p => p.Process.Pid);
        Assert.Equal(12_500_000, processes[10].Platform.Interval.Microjoules);
        Assert.Equal(25_000_000, processes[11].Platform.Interval.Microjoules);
        Assert.Equal(25_000_000, processes[10].Energy.Interval.Microjoules); // the CPU pool is divided as without the option
        Assert.Equal(12_500_000, first.PlatformIdle!.Value.Interval.Microjoules);
        Assert.Equal(25_000_000, first.Containers.Single().Platform.Total.Microjoules);
        Assert.Equal(25_000_000, first.Pods.Single().Platform.Total.Microjoules);
        Assert.Equal(12_500_000, first.PlatformUnattributedWorkload!.Value.Interval.Microjoules); // 50 - 25 (container) - 12.5 (pid 10)

        var second = ledger.Record(SampleBuilder.At(2).Zone(SampleBuilder.Package0, 200_000_000).Cpu(800).Process(10, 500).Process(11, 200, container: container)
            .Container(container, 2_000_000, "batch-1", "jobs").Gpu(0, 150_000_000).Platform(433_333_333).Build())!;

        // other = 133.333333 - 100 (CPU) - 0 (GPU) = 33.333333 J, all of it to pid 10's 4 s of 4: exact to the microjoule, none left idle.
        var pid10 = second.Processes.Single(p => p.Process.Pid == 10);
        Assert.Equal(33_333_333, pid10.Platform.Interval.Microjoules);
        Assert.Equal(45_833_333, pid10.Platform.Total.Microjoules);
        Assert.Equal(0, second.PlatformIdle!.Value.Interval.Microjoules);
        Assert.Equal(25_000_000, second.Pods.Single().Platform.Total.Microjoules);
        Assert.Equal(
            second.PlatformOther!.Value.Total.Microjoules,
            second.Processes.Sum(p => p.Platform.Total.Microjoules) + second.PlatformIdle.Value.Total.Microjoules);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Consumers_get_no_platform_energy_unless_asked_and_metered(bool attribute, bool hasPlatformMeter)
    {
        var ledger = new EnergyLedger(attributePlatformOther: attribute);
        SampleBuilder At(double seconds, ulong package, ulong cpu, ulong pid10, ulong platform)
        {
            var builder = SampleBuilder.At(seconds).Zone(SampleBuilder.Package0, package).Cpu(cpu).Process(10, pid10);
            return hasPlatformMeter ? builder.Platform(platform) : builder;
        }

        ledger.Record(At(0, 0, 0, 0, 0).Build());
        var snapshot = ledger.Record(At(1, 100_000_000, 400, 400, 300_000_000).Build())!;

        Assert.False(snapshot.AttributesPlatform);
        Assert.Null(snapshot.PlatformIdle);
        Assert.Equal(0, snapshot.Processes.Single().Platform.Total.Microjoules);
        Assert.Equal(100_000_000, snapshot.Processes.Single().Energy.Total.Microjoules);
        Assert.Equal(hasPlatformMeter ? 200_000_000 : null, snapshot.PlatformOther?.Total.Microjoules);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Attributed_other_energy_conserves_exactly_over_random_intervals_with_churn(int seed)
    {
        var random = new Random(seed);
        var ledger = new EnergyLedger(attributePlatformOther: true);
        var live = new Dictionary<int, ulong>();
        var nextPid = 1;
        ulong hostTicks = 0, package = 0, platform = 0;
        long toProcesses = 0;
        for (var step = 0; step < 200; step++)
        {
            foreach (var pid in live.Keys.Where(_ => random.NextDouble() < 0.15).ToList())
            {
                live.Remove(pid);
            }

            for (var n = random.Next(0, 3); n > 0; n--)
            {
                live[nextPid++] = 0;
            }

            foreach (var pid in live.Keys.ToList())
            {
                var ticks = (ulong)random.Next(0, 60);
                live[pid] += ticks;
                hostTicks += ticks;
            }

            hostTicks += (ulong)random.Next(0, 100);
            package += (ulong)random.NextInt64(0, 90_000_000);
            platform += (ulong)random.NextInt64(0, 200_000_000);
            var builder = SampleBuilder.At(step).Zone(SampleBuilder.Package0, package).Cpu(hostTicks).Platform(platform);
            foreach (var (pid, ticks) in live)
            {
                builder.Process(pid, ticks);
            }

            if (ledger.Record(builder.Build()) is not { } snapshot)
            {
                continue;
            }

            var intervalShares = snapshot.Processes.Sum(p => p.Platform.Interval.Microjoules);
            Assert.Equal(snapshot.PlatformOther!.Value.Interval.Microjoules, intervalShares + snapshot.PlatformIdle!.Value.Interval.Microjoules);
            Assert.True(snapshot.PlatformIdle.Value.Interval.Microjoules >= 0);
            toProcesses += intervalShares;
            Assert.Equal(snapshot.PlatformOther.Value.Total.Microjoules, toProcesses + snapshot.PlatformIdle.Value.Total.Microjoules);
        }
    }
}
