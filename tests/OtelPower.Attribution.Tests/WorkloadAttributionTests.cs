namespace OtelPower.Attribution.Tests;

public sealed class WorkloadAttributionTests
{
    private static readonly ContainerIdentity Web = SampleBuilder.ContainerOf("c-web", "pod-a");
    private static readonly VmIdentity Guest = new("web-vm", "6f1b0c2e-0d6a-4b8e-9a55-1c3f2e4d5a6b", new ProcessKey(30, 900), "/machine.slice/machine-qemu\\x2d1\\x2dweb\\x2dvm.scope");
    private static readonly VmIdentity HandStarted = new("scratch", null, new ProcessKey(40, 950), null);

    [Fact]
    public void A_vm_is_one_more_workload_next_to_containers()
    {
        var before = SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0)
            .Process(10, 0, container: Web).Process(30, 0, comm: "qemu-system-x86", container: Guest).Process(40, 0, 950, "qemu-kvm", HandStarted).Process(50, 0)
            .Container(Web, 0).Workload(Guest, 0).Workload(HandStarted, 0).Build();
        var after = SampleBuilder.At(1).Zone(SampleBuilder.Package0, 40_000_000).Cpu(400)
            .Process(10, 50, container: Web).Process(30, 100, comm: "qemu-system-x86", container: Guest).Process(40, 50, 950, "qemu-kvm", HandStarted).Process(50, 50)
            .Container(Web, 500_000).Workload(Guest, 1_500_000).Workload(HandStarted, 500_000).Build();

        var interval = IntervalAttribution.Compute(before, after);

        // Host 4 s of CPU; the VM's scope counts 1.5 s (its vhost threads are outside the qemu process).
        Assert.Equal(15_000_000, interval.Workloads.Single(w => w.Workload == Guest).Energy.Microjoules);
        Assert.Equal(5_000_000, interval.Workloads.Single(w => w.Workload == HandStarted).Energy.Microjoules);
        Assert.Equal(5_000_000, interval.Containers.Single().Energy.Microjoules);
        Assert.Equal([WorkloadKind.Container, WorkloadKind.VirtualMachine, WorkloadKind.VirtualMachine], interval.Workloads.Select(w => w.Workload.Kind));
        var outside = interval.Processes.Where(p => p.Process.Workload is null).Sum(p => p.Energy.Microjoules);
        Assert.Equal(interval.HostEnergy.Microjoules, interval.Workloads.Sum(w => w.Energy.Microjoules) + outside + interval.UnattributedWorkloadEnergy.Microjoules);
        Assert.Equal(interval.HostEnergy.Microjoules, interval.Processes.Sum(p => p.Energy.Microjoules) + interval.IdleEnergy.Microjoules);
    }

    [Fact]
    public void Vms_get_gpu_energy_through_their_qemu_process_and_accumulate_in_the_ledger()
    {
        var ledger = new EnergyLedger();
        ledger.Record(SampleBuilder.At(0).Zone(SampleBuilder.Package0, 0).Cpu(0)
            .Process(30, 0, comm: "qemu-system-x86", container: Guest).Workload(Guest, 0).Gpu(0, 0).Build());
        ledger.Record(SampleBuilder.At(1).Zone(SampleBuilder.Package0, 4_000_000).Cpu(400)
            .Process(30, 100, comm: "qemu-system-x86", container: Guest).Workload(Guest, 1_000_000).Gpu(0, 200_000_000, (30, 50)).Build());
        var snapshot = ledger.Record(SampleBuilder.At(2).Zone(SampleBuilder.Package0, 8_000_000).Cpu(800)
            .Process(30, 200, comm: "qemu-system-x86", container: Guest).Workload(Guest, 2_000_000).Gpu(0, 400_000_000, (30, 50)).Build())!;

        var vm = snapshot.Vms.Single();
        Assert.Same(Guest, vm.Workload);
        Assert.Equal(2_000_000, vm.Energy.Total.Microjoules);
        Assert.Equal(200_000_000, vm.Gpu.Total.Microjoules);
        Assert.Empty(snapshot.Containers);
    }
}
