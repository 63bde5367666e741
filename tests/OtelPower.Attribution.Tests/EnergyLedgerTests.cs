namespace OtelPower.Attribution.Tests;

public sealed class EnergyLedgerTests
{
    [Fact]
    public void First_sample_only_sets_the_baseline()
    {
        var ledger = new EnergyLedger();
        Assert.Null(ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 5_000_000).Cpu(0).Build()));
        Assert.Null(ledger.Latest);
    }

    [Fact]
    public void Cumulative_energy_and_power_follow_the_counters()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Process(1, 0).Build());
        ledger.Record(SampleBuilder.At(1).Zone(SampleBuilder.Package0, 10_000_000).Cpu(100).Process(1, 50).Build());
        var snapshot = ledger.Record(SampleBuilder.At(3).Zone(SampleBuilder.Package0, 30_000_000).Cpu(300).Process(1, 250).Build())!;

        Assert.Equal(2, snapshot.IntervalCount);
        Assert.Equal(30_000_000, snapshot.Host.Total.Microjoules);
        Assert.Equal(10.0, snapshot.Host.Power.Watts, 9); // 20 J over 2 s
        var process = Assert.Single(snapshot.Processes);
        Assert.Equal(5_000_000 + 20_000_000, process.Energy.Total.Microjoules);
        Assert.Equal(10.0, process.Energy.Power.Watts, 9);
        Assert.Equal(5_000_000, snapshot.Idle.Total.Microjoules);
        var zone = Assert.Single(snapshot.Zones);
        Assert.Equal(30_000_000, zone.Energy.Total.Microjoules);
    }

    [Fact]
    public void Zone_that_could_not_be_read_loses_no_energy()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Zone(SampleBuilder.Dram0, 0).Cpu(0).Build());
        var gap = ledger.Record(SampleBuilder.At(1).Zone(SampleBuilder.Package0, 10_000_000).Cpu(100).Build())!;
        var back = ledger.Record(SampleBuilder.At(2).Zone(SampleBuilder.Package0, 20_000_000).Zone(SampleBuilder.Dram0, 4_000_000).Cpu(200).Build())!;

        // The unreadable dram zone stays in the books at 0 W; its 4 J arrive when it reads again.
        Assert.Equal(0, gap.Zones.Single(z => z.Zone.Name == "dram-0").Energy.Interval.Microjoules);
        Assert.Equal(4_000_000, back.Zones.Single(z => z.Zone.Name == "dram-0").Energy.Total.Microjoules);
        Assert.Equal(24_000_000, back.Host.Total.Microjoules);
    }

    [Fact]
    public void Reused_pid_keeps_no_energy_of_its_predecessor()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Process(42, 0, startTicks: 1).Build());
        ledger.Record(SampleBuilder.At(1).Zone(SampleBuilder.Package0, 10_000_000).Cpu(100).Process(42, 100, startTicks: 1).Build());
        var snapshot = ledger.Record(SampleBuilder.At(2).Zone(SampleBuilder.Package0, 20_000_000).Cpu(200).Process(42, 10, startTicks: 150).Build())!;

        var process = Assert.Single(snapshot.Processes);
        Assert.Equal(150UL, process.Key.StartTicks);
        Assert.Equal(0, process.Energy.Total.Microjoules);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Energy_is_conserved_and_monotonic_over_random_intervals(int seed)
    {
        var random = new Random(seed);
        var ledger = new EnergyLedger();
        const ulong max = 1_000_000_000; // a small range, so counters wrap often
        var counters = new ulong[] { (ulong)random.NextInt64(0, (long)max), (ulong)random.NextInt64(0, (long)max) };
        // pid -> (start time, cumulative ticks); a reused pid gets a new start time, as the kernel gives it.
        var live = new Dictionary<int, (ulong Start, ulong Ticks)>();
        var nextPid = 1;
        ulong hostTicks = 0;
        long attributedToProcesses = 0;
        var totals = new Dictionary<ProcessKey, long>();
        var time = 0.0;
        long expectedHost = 0;

        for (var step = 0; step < 300; step++)
        {
            foreach (var pid in live.Keys.Where(_ => random.NextDouble() < 0.1).ToList())
            {
                live.Remove(pid);
            }

            for (var n = random.Next(0, 4); n > 0; n--)
            {
                var pid = random.NextDouble() < 0.2 && nextPid > 5 ? random.Next(1, nextPid) : nextPid++;
                live[pid] = ((ulong)step + 1, 0); // replaces a live pid too: exit and reuse within one interval
            }

            ulong used = 0;
            foreach (var pid in live.Keys.ToList())
            {
                var ticks = (ulong)random.Next(0, 50);
                live[pid] = (live[pid].Start, live[pid].Ticks + ticks);
                used += ticks;
            }

            hostTicks += used + (ulong)random.Next(0, 200);
            for (var z = 0; z < counters.Length; z++)
            {
                var increment = (ulong)random.NextInt64(0, 300_000_000);
                counters[z] = (counters[z] + increment) % max;
                expectedHost += step == 0 ? 0 : (long)increment;
            }

            time += 0.5 + random.NextDouble();
            var builder = SampleBuilder.At(time).Zone(SampleBuilder.Package0, counters[0], max).Zone(SampleBuilder.Dram0, counters[1], max).Cpu(hostTicks);
            foreach (var (pid, state) in live)
            {
                builder.Process(pid, state.Ticks, startTicks: state.Start);
            }

            var snapshot = ledger.Record(builder.Build());
            if (snapshot is null)
            {
                continue;
            }

            Assert.Equal(expectedHost, snapshot.Host.Total.Microjoules); // every wrap recovered exactly
            var intervalSum = snapshot.Processes.Sum(p => p.Energy.Interval.Microjoules);
            Assert.Equal(snapshot.Host.Interval.Microjoules, intervalSum + snapshot.Idle.Interval.Microjoules);
            attributedToProcesses += intervalSum;
            Assert.Equal(snapshot.Host.Total.Microjoules, attributedToProcesses + snapshot.Idle.Total.Microjoules);
            Assert.Equal(
                snapshot.Host.Total.Microjoules,
                snapshot.Zones.Where(z => z.Zone.CountsTowardHost).Sum(z => z.Energy.Total.Microjoules));
            foreach (var p in snapshot.Processes)
            {
                Assert.True(p.Energy.Interval.Microjoules >= 0);
                if (totals.TryGetValue(p.Key, out var before))
                {
                    Assert.True(p.Energy.Total.Microjoules >= before, "a process's cumulative energy never decreases");
                }

                totals[p.Key] = p.Energy.Total.Microjoules;
            }
        }

        Assert.True(attributedToProcesses > 0);
    }
}
