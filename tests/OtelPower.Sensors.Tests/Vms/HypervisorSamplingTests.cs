using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OtelPower.Attribution;

namespace OtelPower.Sensors.Tests.Vms;

public sealed class HypervisorSamplingTests
{
    private const string Uuid = "6f1b0c2e-0d6a-4b8e-9a55-1c3f2e4d5a6b";
    private const string WebScope = @"/machine.slice/machine-qemu\x2d1\x2dweb\x2d01.scope";
    private const string LegacyScope = "/machine/qemu-2-legacy.libvirt-qemu";

    private static readonly string[] WebArguments =
        ["/usr/bin/qemu-system-x86_64", "-name", "guest=web-01,debug-threads=on", "-S", "-uuid", Uuid, "-object", "secret,id=masterKey0,data=hunter2"];

    private static HostSampler Sampler(HypervisorTree tree, FakeTimeProvider clock, bool cgroups = true) =>
        new(new SensorOptions { ProcfsRoot = tree.Procfs, SysfsRoot = tree.Sysfs, CgroupfsRoot = cgroups ? tree.Cgroupfs : null }, clock, new FakeLogger<HostSampler>());

    private static void LibvirtSystemdVm(HypervisorTree tree, ulong qemuTicks, ulong scopeUsage)
    {
        tree.Process(3000, "qemu-system-x86", "/usr/bin/qemu-system-x86_64", WebArguments, WebScope + "/libvirt/emulator", qemuTicks);
        tree.Process(3001, "vhost-3000", string.Empty, [], WebScope, 5, kernelThread: true);
        tree.CgroupUsage(WebScope, scopeUsage);
        tree.CgroupUsage(WebScope + "/libvirt/emulator", scopeUsage / 4);
        tree.CgroupUsage(WebScope + "/libvirt/vcpu0", scopeUsage / 2);
        tree.CgroupUsage(WebScope + "/libvirt/vcpu1", scopeUsage / 4);
    }

    [Fact]
    public void A_libvirt_domain_under_systemd_is_measured_from_its_scope_and_named_from_its_qemu()
    {
        using var tree = new HypervisorTree();
        LibvirtSystemdVm(tree, 100, 2_500_000);
        tree.Process(10, "sshd", "/usr/sbin/sshd", ["sshd"], "/system.slice/ssh.service", 7);

        var sample = Sampler(tree, new FakeTimeProvider()).Sample();

        var vm = Assert.Single(sample.Vms);
        var identity = Assert.IsType<VmIdentity>(vm.Workload);
        Assert.Equal("web-01", identity.Name);
        Assert.Equal(Uuid, identity.Uuid);
        Assert.Equal(3000, identity.Pid);
        Assert.Equal(WebScope, identity.CgroupPath);
        Assert.Equal(2_500_000UL, vm.CpuMicroseconds); // the scope: vcpus, emulator and vhost threads
        var qemu = sample.Processes.Single(p => p.Key.Pid == 3000).Process;
        Assert.Equal(vm.Key, qemu.Workload!.Key);
        Assert.Null(qemu.CommandLine); // read to name the VM, never kept without --include-cmdline
        Assert.Null(sample.Processes.Single(p => p.Key.Pid == 10).Process.Workload);
    }

    [Fact]
    public void A_libvirt_domain_without_systemd_falls_back_to_the_machine_name()
    {
        using var tree = new HypervisorTree();
        tree.Process(3100, "qemu-system-x86", "/usr/bin/qemu-system-x86_64", ["/usr/bin/qemu-system-x86_64", "-m", "1024"], LegacyScope + "/emulator", 40);
        tree.CgroupUsage(LegacyScope, 900_000);
        tree.CgroupUsage(LegacyScope + "/emulator", 400_000);
        tree.CgroupUsage(LegacyScope + "/vcpu0", 500_000);

        var vm = Assert.Single(Sampler(tree, new FakeTimeProvider()).Sample().Vms);

        var identity = Assert.IsType<VmIdentity>(vm.Workload);
        Assert.Equal("legacy", identity.Name);
        Assert.Null(identity.Uuid);
        Assert.Equal(3100, identity.Pid);
        Assert.Equal(LegacyScope, identity.CgroupPath);
        Assert.Equal(900_000UL, vm.CpuMicroseconds);
    }

    [Fact]
    public void A_hand_started_qemu_kvm_is_measured_from_its_process()
    {
        using var tree = new HypervisorTree();
        tree.Process(4000, "qemu-kvm", "/usr/libexec/qemu-kvm", ["/usr/libexec/qemu-kvm", "-name", "scratch", "-uuid", Uuid], "/user.slice/user-1000.slice/session-3.scope", 250);

        foreach (var cgroups in new[] { true, false })
        {
            var vm = Assert.Single(Sampler(tree, new FakeTimeProvider(), cgroups).Sample().Vms);
            var identity = Assert.IsType<VmIdentity>(vm.Workload);
            Assert.Equal("scratch", identity.Name);
            Assert.Null(identity.CgroupPath);
            Assert.Equal(4000, identity.Pid);
            Assert.Equal(2_500_000UL, vm.CpuMicroseconds); // 250 ticks at USER_HZ 100
        }
    }

    [Fact]
    public void A_vm_that_stops_leaves_the_books_and_they_still_balance()
    {
        using var tree = new HypervisorTree();
        var clock = new FakeTimeProvider();
        var sampler = Sampler(tree, clock);
        var ledger = new EnergyLedger();
        LibvirtSystemdVm(tree, 0, 0);
        ledger.Record(sampler.Sample());

        LibvirtSystemdVm(tree, 100, 2_000_000);
        tree.Cpu(400);
        clock.Advance(TimeSpan.FromSeconds(1));
        var running = ledger.Record(sampler.Sample())!;
        Assert.True(running.Vms.Single().Energy.Total.Microjoules > 0);

        tree.Exit(3000);
        tree.Exit(3001);
        tree.RemoveCgroup(WebScope);
        tree.Cpu(800);
        clock.Advance(TimeSpan.FromSeconds(1));
        var stopped = ledger.Record(sampler.Sample())!;

        Assert.Empty(stopped.Vms);
        Assert.Equal(stopped.Host.Interval, stopped.UnattributedWorkload.Interval + new Energy(stopped.Workloads.Sum(w => w.Energy.Interval.Microjoules))
            + new Energy(stopped.Processes.Where(p => p.Process.Workload is null).Sum(p => p.Energy.Interval.Microjoules)));
    }

    [Fact]
    public void A_reused_pid_is_another_vm_that_starts_from_zero()
    {
        using var tree = new HypervisorTree();
        var clock = new FakeTimeProvider();
        var sampler = Sampler(tree, clock);
        var ledger = new EnergyLedger();
        string[] arguments = ["/usr/libexec/qemu-kvm", "-name", "scratch"];
        tree.Process(4000, "qemu-kvm", "/usr/libexec/qemu-kvm", arguments, "/user.slice", 100, startTicks: 500);
        ledger.Record(sampler.Sample());
        tree.Process(4000, "qemu-kvm", "/usr/libexec/qemu-kvm", arguments, "/user.slice", 200, startTicks: 500);
        tree.Cpu(400);
        clock.Advance(TimeSpan.FromSeconds(1));
        var first = ledger.Record(sampler.Sample())!.Vms.Single();

        // The guest was shut down and another started that got the same pid.
        tree.Process(4000, "qemu-kvm", "/usr/libexec/qemu-kvm", arguments, "/user.slice", 300, startTicks: 950);
        tree.Cpu(800);
        clock.Advance(TimeSpan.FromSeconds(1));
        var second = ledger.Record(sampler.Sample())!.Vms.Single();

        Assert.NotEqual(first.Key, second.Key);
        Assert.Equal(0, second.Energy.Total.Microjoules); // new: it counts from the next interval
        Assert.Equal(new ProcessKey(4000, 950), ((VmIdentity)second.Workload).Process);
    }
}
