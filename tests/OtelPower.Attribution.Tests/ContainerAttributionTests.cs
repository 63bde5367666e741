namespace OtelPower.Attribution.Tests;

public sealed class ContainerAttributionTests
{
    private static readonly ContainerIdentity Web = SampleBuilder.ContainerOf("c-web", "pod-a");
    private static readonly ContainerIdentity Sidecar = SampleBuilder.ContainerOf("c-sidecar", "pod-a");
    private static readonly ContainerIdentity Batch = SampleBuilder.ContainerOf("c-batch", "pod-b");

    [Fact]
    public void Container_energy_comes_from_its_cgroup_and_includes_members_that_exited()
    {
        // 400 ticks = 4 s of CPU on the host. The web container's cgroup counts 2 s, of which its one
        // surviving process shows 1 s: the other second was a child that started and exited in between.
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(1_000)
            .Process(10, 0, container: Web).Process(20, 0).Container(Web, 0).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 40_000_000).Cpu(1_400)
            .Process(10, 100, container: Web).Process(20, 50).Container(Web, 2_000_000).Build();

        var interval = IntervalAttribution.Compute(before, after);

        Assert.Equal(20_000_000, interval.Containers.Single().Energy.Microjoules); // 2 s of 4 s
        Assert.Equal(10_000_000, interval.Processes.Single(p => p.Process.Pid == 10).Energy.Microjoules);
        Assert.Equal(5_000_000, interval.Processes.Single(p => p.Process.Pid == 20).Energy.Microjoules);
        Assert.Equal(25_000_000, interval.IdleEnergy.Microjoules); // process view: the exited child is idle
        Assert.Equal(15_000_000, interval.UnattributedWorkloadEnergy.Microjoules); // workload view: it is the container's
    }

    [Fact]
    public void Container_whose_processes_all_exited_is_still_measured()
    {
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0).Container(Batch, 5_000_000).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 8_000_000).Cpu(400).Container(Batch, 6_000_000).Build();

        var interval = IntervalAttribution.Compute(before, after);

        Assert.Equal(2_000_000, interval.Containers.Single().Energy.Microjoules); // 1 s of 4 s
        Assert.Empty(interval.Processes);
    }

    [Fact]
    public void Pods_sum_their_containers_and_outlive_a_container_restart()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0)
            .Container(Web, 0, "web-7d9", "shop").Container(Sidecar, 0, "web-7d9", "shop").Container(Batch, 0, "etl-1", "data").Build());
        ledger.Record(SampleBuilder.At(1).Zone(SampleBuilder.Package0, 40_000_000).Cpu(400)
            .Container(Web, 1_000_000, "web-7d9", "shop").Container(Sidecar, 500_000, "web-7d9", "shop").Container(Batch, 2_000_000, "etl-1", "data").Build());

        // The sidecar restarts with a new container id: the pod keeps its total.
        var restarted = SampleBuilder.ContainerOf("c-sidecar-2", "pod-a");
        ledger.Record(SampleBuilder.At(2).Zone(SampleBuilder.Package0, 80_000_000).Cpu(800)
            .Container(Web, 2_000_000, "web-7d9", "shop").Container(restarted, 0, "web-7d9", "shop").Container(Batch, 4_000_000, "etl-1", "data").Build());
        var snapshot = ledger.Record(SampleBuilder.At(3).Zone(SampleBuilder.Package0, 120_000_000).Cpu(1_200)
            .Container(Web, 3_000_000, "web-7d9", "shop").Container(restarted, 1_000_000, "web-7d9", "shop").Container(Batch, 6_000_000, "etl-1", "data").Build())!;

        var podA = snapshot.Pods.Single(p => p.PodUid == "pod-a");
        Assert.Equal("web-7d9", podA.PodName);
        Assert.Equal("shop", podA.Namespace);
        // web: 10 J x 3 intervals; sidecar: 5 J once; the restarted sidecar 10 J in its first full interval.
        Assert.Equal(45_000_000, podA.Energy.Total.Microjoules);
        Assert.Equal(60_000_000, snapshot.Pods.Single(p => p.PodUid == "pod-b").Energy.Total.Microjoules);
        Assert.Equal("shop", snapshot.Containers.Single(c => c.Container.ContainerId == "c-web").Metadata!.Namespace);
        Assert.Equal(
            snapshot.Host.Total.Microjoules,
            snapshot.Pods.Sum(p => p.Energy.Total.Microjoules) + snapshot.UnattributedWorkload.Total.Microjoules);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Both_views_conserve_energy_exactly_on_random_intervals(int seed)
    {
        var random = new Random(seed);
        ContainerIdentity[] containers = [Web, Sidecar, Batch];
        var containerTime = new ulong[3];
        var processTicks = new ulong[6];
        ulong hostTicks = 0, package = 0;
        HostSample? previous = null;
        for (var step = 0; step < 200; step++)
        {
            var builder = SampleBuilder.At(step).Cpu(hostTicks += (ulong)random.Next(0, 800));
            builder.Zone(SampleBuilder.Package0, package += (ulong)random.NextInt64(0, 50_000_000));
            for (var c = 0; c < containers.Length; c++)
            {
                builder.Container(containers[c], containerTime[c] += (ulong)random.NextInt64(0, 3_000_000));
            }

            for (var p = 0; p < processTicks.Length; p++)
            {
                // Processes 0-2 live in the containers, 3-5 on the host; all counters are random and skewed.
                builder.Process(p + 1, processTicks[p] += (ulong)random.Next(0, 300), container: p < 3 ? containers[p] : null);
            }

            var current = builder.Build();
            if (previous is not null)
            {
                var interval = IntervalAttribution.Compute(previous, current);
                var processes = interval.Processes.Sum(p => p.Energy.Microjoules);
                var hostProcesses = interval.Processes.Where(p => p.Process.Container is null).Sum(p => p.Energy.Microjoules);
                Assert.Equal(interval.HostEnergy.Microjoules, processes + interval.IdleEnergy.Microjoules);
                Assert.Equal(
                    interval.HostEnergy.Microjoules,
                    interval.Containers.Sum(c => c.Energy.Microjoules) + hostProcesses + interval.UnattributedWorkloadEnergy.Microjoules);
                Assert.True(interval.IdleEnergy.Microjoules >= 0);
                Assert.True(interval.UnattributedWorkloadEnergy.Microjoules >= 0);
            }

            previous = current;
        }
    }
}
