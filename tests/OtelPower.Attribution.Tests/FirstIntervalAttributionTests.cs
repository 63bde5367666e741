namespace OtelPower.Attribution.Tests;

/// <summary>Short-lived work: a process or container that appeared since the previous sample gets its whole first interval.</summary>
public sealed class FirstIntervalAttributionTests
{
    private static readonly ContainerIdentity Batch = SampleBuilder.ContainerOf("c-batch", "pod-b");

    [Fact]
    public void A_process_that_started_after_the_previous_sample_is_attributed_all_its_cpu_time_at_once()
    {
        // The previous sample began at uptime 10,000 ticks; the batch job started at 10,020 and used 150 ticks.
        var before = SampleBuilder.At(0).Uptime(10_000).Zone(SampleBuilder.Package0, 0).Cpu(1_000).Process(10, 0, startTicks: 50).Build();
        var after = SampleBuilder.At(1).Uptime(10_100).Zone(SampleBuilder.Package0, 40_000_000).Cpu(1_400)
            .Process(10, 100, startTicks: 50).Process(20, 150, startTicks: 10_020).Build();

        var interval = IntervalAttribution.Compute(before, after);

        var job = interval.Processes.Single(p => p.Process.Pid == 20);
        Assert.True(job.IsNew);
        Assert.Equal(150UL, job.CpuTicks);
        Assert.Equal(15_000_000, job.Energy.Microjoules); // 150 of 400 ticks of 40 J
        Assert.Equal(10_000_000, interval.Processes.Single(p => p.Process.Pid == 10).Energy.Microjoules);
        Assert.Equal(15_000_000, interval.IdleEnergy.Microjoules);
    }

    [Fact]
    public void A_process_first_seen_that_started_before_the_previous_sample_counts_from_its_second_sample()
    {
        // Missed by the previous listing (or the agent just started): its CPU time so far is not this interval's.
        var before = SampleBuilder.At(0).Uptime(10_000).Zone(SampleBuilder.Package0, 0).Cpu(1_000).Build();
        var after = SampleBuilder.At(1).Uptime(10_100).Zone(SampleBuilder.Package0, 40_000_000).Cpu(1_400)
            .Process(20, 5_000, startTicks: 9_000).Build();

        var interval = IntervalAttribution.Compute(before, after);

        Assert.Equal(0, interval.Processes.Single().Energy.Microjoules);
        Assert.Equal(40_000_000, interval.IdleEnergy.Microjoules);
    }

    [Fact]
    public void A_container_whose_cgroup_appeared_since_the_previous_walk_gets_its_whole_usage_and_both_views_conserve()
    {
        var before = SampleBuilder.At(0).Uptime(10_000).Zone(SampleBuilder.Package0, 0).Cpu(1_000).Build();
        var after = SampleBuilder.At(1).Uptime(10_100).Zone(SampleBuilder.Package0, 40_000_000).Cpu(1_400)
            .Process(30, 100, startTicks: 10_010, container: Batch).Container(Batch, 1_500_000, "etl-1", "data").Build();

        var interval = IntervalAttribution.Compute(before, after);

        var container = Assert.Single(interval.Containers);
        Assert.Equal(15_000_000, container.Energy.Microjoules); // 1.5 s of 4 s: the process and a child that exited
        Assert.Equal(10_000_000, interval.Processes.Single().Energy.Microjoules);
        Assert.Equal(40_000_000, interval.Processes.Sum(p => p.Energy.Microjoules) + interval.IdleEnergy.Microjoules);
        Assert.Equal(40_000_000, container.Energy.Microjoules + interval.UnattributedWorkloadEnergy.Microjoules);
    }

    [Fact]
    public void Without_uptime_first_seen_work_counts_from_its_second_sample_as_before()
    {
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(1_000).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 40_000_000).Cpu(1_400)
            .Process(20, 150, startTicks: 10_020, container: Batch).Container(Batch, 1_500_000).Build();

        var interval = IntervalAttribution.Compute(before, after);

        Assert.Equal(0, interval.Processes.Single().Energy.Microjoules);
        Assert.Equal(0, interval.Containers.Single().Energy.Microjoules);
    }
}
