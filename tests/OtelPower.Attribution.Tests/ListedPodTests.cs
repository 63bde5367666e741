namespace OtelPower.Attribution.Tests;

/// <summary>Pods the API lists before their containers burn are booked at 0 J, so their series start at zero (issue 12).</summary>
public sealed class ListedPodTests
{
    private static readonly ContainerIdentity Batch = SampleBuilder.ContainerOf("c-batch", podUid: "uid-batch");

    private static SampleBuilder Host(double seconds, ulong package, ulong cpu) =>
        SampleBuilder.At(seconds).Zone(SampleBuilder.Package0, package).Cpu(cpu).Uptime((ulong)(seconds * 100) + 10_000);

    [Fact]
    public void A_listed_pod_is_booked_at_zero_until_its_container_burns_then_carries_its_joules()
    {
        var ledger = new EnergyLedger();
        ledger.Record(Host(0, 0, 0).Listed("uid-batch", "batch-1", "jobs").Build());

        var listed = ledger.Record(Host(1, 100_000_000, 400).Listed("uid-batch", "batch-1", "jobs").Build())!;
        var pod = Assert.Single(listed.Pods);
        Assert.Equal(new PodEnergy("uid-batch", "batch-1", "jobs", pod.Energy, pod.Gpu, pod.Platform), pod);
        Assert.Equal(0, pod.Energy.Total.Microjoules);
        Assert.Empty(listed.Containers);

        // Its container's cgroup appears with 1 s of CPU of the host's 4: its first interval counts in full.
        var burning = ledger.Record(Host(2, 200_000_000, 800).Listed("uid-batch", "batch-1", "jobs").Container(Batch, 1_000_000, "batch-1", "jobs").Build())!;
        Assert.Equal(25_000_000, Assert.Single(burning.Pods).Energy.Total.Microjoules);
    }

    [Fact]
    public void A_pod_whose_containers_are_gone_is_not_booked_at_zero_again_while_it_is_still_listed()
    {
        var ledger = new EnergyLedger();
        ledger.Record(Host(0, 0, 0).Listed("uid-batch", "batch-1", "jobs").Container(Batch, 0, "batch-1", "jobs").Build());
        var ran = ledger.Record(Host(1, 100_000_000, 400).Listed("uid-batch", "batch-1", "jobs").Container(Batch, 2_000_000, "batch-1", "jobs").Build())!;
        Assert.Equal(50_000_000, Assert.Single(ran.Pods).Energy.Total.Microjoules);

        // Completed: the API still lists it, its cgroup is gone. A series back at 0 J would read as a counter reset.
        var completed = ledger.Record(Host(2, 200_000_000, 800).Listed("uid-batch", "batch-1", "jobs").Build())!;
        Assert.Empty(completed.Pods);
        Assert.Empty(ledger.Record(Host(3, 300_000_000, 1200).Listed("uid-batch", "batch-1", "jobs").Build())!.Pods);
    }

    [Fact]
    public void Listed_pods_without_containers_take_no_energy_and_both_views_still_conserve()
    {
        var other = SampleBuilder.ContainerOf("c-web", podUid: "uid-web");
        var ledger = new EnergyLedger();
        ledger.Record(Host(0, 0, 0).Container(other, 0, "web", "shop").Listed("uid-web", "web", "shop").Listed("uid-new", "new", "jobs").Build());
        var snapshot = ledger.Record(Host(1, 100_000_000, 400).Container(other, 3_000_000, "web", "shop").Listed("uid-web", "web", "shop").Listed("uid-new", "new", "jobs").Build())!;

        Assert.Equal(["uid-new", "uid-web"], snapshot.Pods.Select(p => p.PodUid));
        Assert.Equal(0, snapshot.Pods[0].Energy.Total.Microjoules);
        Assert.Equal(75_000_000, snapshot.Pods[1].Energy.Total.Microjoules);
        Assert.Equal(snapshot.Host.Total.Microjoules, snapshot.Pods.Sum(p => p.Energy.Total.Microjoules) + snapshot.UnattributedWorkload.Total.Microjoules);
    }
}
