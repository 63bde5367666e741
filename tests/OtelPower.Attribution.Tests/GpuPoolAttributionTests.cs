namespace OtelPower.Attribution.Tests;

public sealed class GpuPoolAttributionTests
{
    private static readonly ContainerIdentity Trainer = SampleBuilder.ContainerOf("c-train", "pod-t");
    private static readonly ContainerIdentity Notebook = SampleBuilder.ContainerOf("c-nb", "pod-n");

    [Fact]
    public void Gpu_energy_divides_by_mean_sm_utilisation_and_the_rest_is_that_gpus_idle()
    {
        var before = SampleBuilder.At(0).Cpu(0).Process(10, 0).Process(20, 0).Gpu(0, 5_000_000).Build();
        var after = SampleBuilder.At(1).Cpu(400).Process(10, 10).Process(20, 10)
            .Gpu(0, 305_000_000, (10, 40), (20, 30)).Build(); // 300 J in the interval

        var interval = IntervalAttribution.Compute(before, after);

        Assert.Equal(120_000_000, interval.Processes.Single(p => p.Process.Pid == 10).GpuEnergy.Microjoules);
        Assert.Equal(90_000_000, interval.Processes.Single(p => p.Process.Pid == 20).GpuEnergy.Microjoules);
        var gpu = interval.Pools.Single();
        Assert.Equal(300_000_000, gpu.Energy.Microjoules);
        Assert.Equal(90_000_000, gpu.IdleEnergy.Microjoules);
        Assert.Equal(300_000_000, interval.GpuEnergy.Microjoules);
        Assert.Equal(90_000_000, interval.GpuIdleEnergy.Microjoules);
    }

    [Fact]
    public void Usage_above_100_percent_in_total_is_scaled_so_processes_never_exceed_the_gpu()
    {
        var before = SampleBuilder.At(0).Cpu(0).Process(10, 0).Process(20, 0).Gpu(0, 0).Build();
        var after = SampleBuilder.At(1).Cpu(400).Process(10, 0).Process(20, 0).Gpu(0, 140_000_000, (10, 80), (20, 60)).Build();

        var interval = IntervalAttribution.Compute(before, after);

        Assert.Equal(80_000_000, interval.Processes.Single(p => p.Process.Pid == 10).GpuEnergy.Microjoules);
        Assert.Equal(60_000_000, interval.Processes.Single(p => p.Process.Pid == 20).GpuEnergy.Microjoules);
        Assert.Equal(0, interval.GpuIdleEnergy.Microjoules);
    }

    [Fact]
    public void A_process_that_used_the_gpu_but_no_cpu_gets_its_gpu_share_and_counts_as_active()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Process(10, 500).Gpu(0, 0).Build());
        var snapshot = ledger.Record(SampleBuilder.At(1).Zone(SampleBuilder.Package0, 1_000_000).Cpu(400).Process(10, 500)
            .Gpu(0, 50_000_000, (10, 50)).Build())!;

        var process = snapshot.Processes.Single();
        Assert.Equal(0, process.Energy.Interval.Microjoules);
        Assert.Equal(25_000_000, process.Gpu.Interval.Microjoules);
        Assert.Equal(25.0, process.Gpu.Power.Watts, 9);
        Assert.True(process.WasActive);
    }

    [Fact]
    public void Usage_of_a_pid_that_is_not_among_the_processes_stays_idle()
    {
        var before = SampleBuilder.At(0).Cpu(0).Process(10, 0).Gpu(0, 0).Build();
        var after = SampleBuilder.At(1).Cpu(400).Process(10, 0).Gpu(0, 100_000_000, (10, 20), (99, 50)).Build();

        var interval = IntervalAttribution.Compute(before, after);

        Assert.Equal(20_000_000, interval.Processes.Single().GpuEnergy.Microjoules);
        Assert.Equal(80_000_000, interval.GpuIdleEnergy.Microjoules);
    }

    [Fact]
    public void Each_gpu_is_its_own_pool_and_the_cpu_pool_is_untouched()
    {
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Process(10, 0).Process(20, 0)
            .Gpu(0, 0).Gpu(1, 0).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 40_000_000).Cpu(400).Process(10, 100).Process(20, 100)
            .Gpu(0, 200_000_000, (10, 100)).Gpu(1, 100_000_000, (20, 25)).Build();

        var interval = IntervalAttribution.Compute(before, after);

        Assert.Equal(200_000_000, interval.Processes.Single(p => p.Process.Pid == 10).GpuEnergy.Microjoules);
        Assert.Equal(25_000_000, interval.Processes.Single(p => p.Process.Pid == 20).GpuEnergy.Microjoules);
        Assert.Equal([0, 75_000_000], interval.Pools.Select(p => p.IdleEnergy.Microjoules));
        Assert.Equal(10_000_000, interval.Processes.Single(p => p.Process.Pid == 10).Energy.Microjoules);
        Assert.Equal(40_000_000, interval.HostEnergy.Microjoules);
    }

    [Fact]
    public void Containers_pods_and_namespaces_get_gpu_energy_through_their_processes()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Cpu(0).Process(10, 0, container: Trainer).Process(11, 0, container: Trainer)
            .Process(20, 0, container: Notebook).Process(30, 0)
            .Container(Trainer, 0, "train-0", "ml").Container(Notebook, 0, "nb-0", "research").Gpu(0, 0).Build());
        var snapshot = ledger.Record(SampleBuilder.At(2).Cpu(800).Process(10, 0, container: Trainer).Process(11, 0, container: Trainer)
            .Process(20, 0, container: Notebook).Process(30, 0)
            .Container(Trainer, 0, "train-0", "ml").Container(Notebook, 0, "nb-0", "research")
            .Gpu(0, 1_000_000_000, (10, 30), (11, 20), (20, 10), (30, 5)).Build())!;

        Assert.Equal(500_000_000, snapshot.Containers.Single(c => c.Container.ContainerId == "c-train").Gpu.Total.Microjoules);
        Assert.Equal(250.0, snapshot.Containers.Single(c => c.Container.ContainerId == "c-train").Gpu.Power.Watts, 9);
        Assert.Equal(100_000_000, snapshot.Pods.Single(p => p.Namespace == "research").Gpu.Total.Microjoules);
        Assert.Equal(500_000_000, snapshot.Pods.Single(p => p.Namespace == "ml").Gpu.Total.Microjoules);
        Assert.Equal(350_000_000, snapshot.GpuIdle.Total.Microjoules);
        // Workload view: containers + the host process 30 + unattributed = the GPU.
        Assert.Equal(350_000_000, snapshot.GpuUnattributedWorkload.Total.Microjoules);
        var pool = snapshot.Pools.Single();
        Assert.Equal(1_000_000_000, pool.Energy.Total.Microjoules);
        Assert.Equal(500.0, pool.Energy.Power.Watts, 9);
        Assert.Equal(350_000_000, pool.Idle.Total.Microjoules);
    }

    [Fact]
    public void A_lost_gpu_keeps_its_counter_and_its_energy_is_counted_when_it_returns()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Cpu(0).Process(10, 0).Gpu(0, 1_000_000).Gpu(1, 0).Build());
        var lost = ledger.Record(SampleBuilder.At(1).Cpu(400).Process(10, 0).Gpu(1, 10_000_000, (10, 10)).Build())!;
        Assert.Equal(0, lost.Pools.Single(p => p.Device.Index == 0).Energy.Interval.Microjoules);
        Assert.Equal(10_000_000, lost.Pools.Single(p => p.Device.Index == 1).Energy.Interval.Microjoules);

        var back = ledger.Record(SampleBuilder.At(2).Cpu(800).Process(10, 0).Gpu(0, 61_000_000, (10, 50)).Gpu(1, 20_000_000).Build())!;

        var gpu0 = back.Pools.Single(p => p.Device.Index == 0);
        Assert.Equal(60_000_000, gpu0.Energy.Total.Microjoules);
        Assert.Equal(30_000_000 + 1_000_000, back.Processes.Single().Gpu.Total.Microjoules);
    }

    [Fact]
    public void Every_gpu_conserves_exactly_in_every_interval_with_churn_wrap_and_pid_reuse()
    {
        for (var seed = 0; seed < 5; seed++)
        {
            var random = new Random(seed);
            var ledger = new EnergyLedger();
            const ulong maxRange = 50_000_000;
            var counters = new ulong[2];
            var cumulativeTruth = new long[2];
            var live = Enumerable.Range(1, 20).ToDictionary(pid => pid, pid => (Start: 100UL, Ticks: 0UL));
            AttributionSnapshot? snapshot = null;
            for (var step = 0; step < 300; step++)
            {
                var builder = SampleBuilder.At(step).Cpu((ulong)step * 400);
                foreach (var pid in live.Keys.ToList())
                {
                    if (random.Next(20) == 0)
                    {
                        live[pid] = ((ulong)step * 100, 0); // exited and the pid was reused
                    }

                    var (start, ticks) = live[pid];
                    live[pid] = (start, ticks + (ulong)random.Next(0, 20));
                    var container = pid % 3 == 0 ? Trainer : pid % 3 == 1 ? Notebook : null;
                    builder.Process(pid, live[pid].Ticks, live[pid].Start, container: container);
                }

                builder.Container(Notebook, (ulong)step * 1_000, "nb", "research").Container(Trainer, (ulong)step * 2_000, "t", "ml");
                for (var gpu = 0; gpu < 2; gpu++)
                {
                    var delta = (ulong)random.Next(0, 20_000_000);
                    if (step > 0)
                    {
                        cumulativeTruth[gpu] += (long)delta;
                    }

                    counters[gpu] = (counters[gpu] + delta) % maxRange;
                    var usage = live.Keys.Where(_ => random.Next(3) == 0).Select(pid => (pid, random.NextDouble() * 40)).Append((999, 7.0)).ToArray();
                    builder.Gpu(gpu, counters[gpu], maxRange, usage);
                }

                var before = snapshot;
                snapshot = ledger.Record(builder.Build());
                if (snapshot is null)
                {
                    continue;
                }

                foreach (var pool in snapshot.Pools)
                {
                    Assert.True(pool.Energy.Interval.Microjoules >= 0);
                    Assert.True(pool.Idle.Interval.Microjoules >= 0);
                }

                var intervalGpu = snapshot.Pools.Sum(p => p.Energy.Interval.Microjoules);
                Assert.Equal(intervalGpu, snapshot.Processes.Sum(p => p.Gpu.Interval.Microjoules) + snapshot.GpuIdle.Interval.Microjoules);
                Assert.Equal(
                    intervalGpu,
                    snapshot.Containers.Sum(c => c.Gpu.Interval.Microjoules)
                        + snapshot.Processes.Where(p => p.Process.Container is null).Sum(p => p.Gpu.Interval.Microjoules)
                        + snapshot.GpuUnattributedWorkload.Interval.Microjoules);
                Assert.Equal(
                    snapshot.Pools.Sum(p => p.Idle.Interval.Microjoules), snapshot.GpuIdle.Interval.Microjoules);
                Assert.True(before is null || snapshot.GpuIdle.Total >= before.GpuIdle.Total);
            }

            Assert.Equal(cumulativeTruth, snapshot!.Pools.Select(p => p.Energy.Total.Microjoules));
        }
    }
}
