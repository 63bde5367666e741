using OtelPower.Attribution;

namespace OtelPower.Instrumentation.Tests;

public sealed class VmInstrumentationTests
{
    private static readonly EnergyZone Package = new("intel-rapl:0", "package-0", null, EnergyZoneKind.Package);
    private static readonly VmIdentity Web = new("web-01", "6f1b0c2e-0d6a-4b8e-9a55-1c3f2e4d5a6b", new ProcessKey(30, 5), @"/machine.slice/machine-qemu\x2d1\x2dweb\x2d01.scope");
    private static readonly VmIdentity Scratch = new("scratch", null, new ProcessKey(40, 5), null);

    private static HostSample Sample(int second, ulong package, ulong webMicroseconds, ulong scratchTicks)
    {
        var time = TimeSpan.FromSeconds(second);
        var qemu = new ProcessIdentity(new ProcessKey(30, 5), "qemu-system-x86", "qemu-system-x86_64", null, false, Web);
        var scratch = new ProcessIdentity(new ProcessKey(40, 5), "qemu-kvm", "qemu-kvm", null, false, Scratch);
        return new HostSample(
            DateTimeOffset.UnixEpoch + time, time, EnergySource.Rapl,
            [new EnergyZoneReading(Package, package, 262_143_328_850)],
            new CpuTimes((ulong)second * 400, 0, 0), 4,
            [new ProcessCpuReading(qemu, webMicroseconds / 20_000), new ProcessCpuReading(scratch, scratchTicks)], 100,
            [new WorkloadCpuReading(Web, webMicroseconds), new WorkloadCpuReading(Scratch, scratchTicks * 10_000)]);
    }

    [Fact]
    public void Each_vm_has_an_energy_and_a_power_series_named_by_its_guest()
    {
        using var harness = new MetricsHarness();
        var ledger = new EnergyLedger();
        foreach (var sample in new[] { Sample(0, 0, 0, 0), Sample(1, 40_000_000, 1_000_000, 50), Sample(2, 80_000_000, 2_000_000, 100) })
        {
            if (ledger.Record(sample) is { } snapshot)
            {
                harness.Feed.Publish(snapshot);
            }
        }

        var metrics = harness.CollectSettled();
        var energy = metrics["otelpower.vm.energy"].ToDictionary(p => (string)p.Attributes["otelpower.vm.name"]!);
        Assert.Equal(20.0, energy["web-01"].Value, 9);
        Assert.Equal(Web.Uuid, energy["web-01"].Attributes["otelpower.vm.uuid"]);
        Assert.Equal("cpu", energy["web-01"].Attributes["hw.type"]);
        Assert.Equal("rapl", energy["web-01"].Attributes["otelpower.source"]);
        Assert.Equal(10.0, energy["scratch"].Value, 9);
        Assert.Equal(string.Empty, energy["scratch"].Attributes["otelpower.vm.uuid"]);
        Assert.Equal(10.0, metrics["otelpower.vm.power"].Single(p => (string?)p.Attributes["otelpower.vm.name"] == "web-01").Value, 9);
    }
}
