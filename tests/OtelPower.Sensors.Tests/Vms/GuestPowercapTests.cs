using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OtelPower.Attribution;
using OtelPower.Sensors.Powercap;

namespace OtelPower.Sensors.Tests.Vms;

public sealed class GuestPowercapTests
{
    [Theory]
    [InlineData(true, EnergySource.Hypervisor)]
    [InlineData(false, EnergySource.Rapl)]
    public void A_powercap_path_is_read_instead_of_sysfs_and_the_hypervisors_marker_labels_it(bool marked, EnergySource expected)
    {
        using var tree = new HypervisorTree();
        var mount = Path.Combine(tree.Root, "mnt", "otelpower");
        var zone = Path.Combine(mount, "intel-rapl:0");
        Directory.CreateDirectory(zone);
        File.WriteAllText(Path.Combine(zone, "name"), "package-0\n");
        File.WriteAllText(Path.Combine(zone, "max_energy_range_uj"), "1099511627775\n");
        File.WriteAllText(Path.Combine(zone, "energy_uj"), "42000000\n");
        if (marked)
        {
            File.WriteAllText(Path.Combine(mount, PowercapReader.HypervisorMarkerFile), "Written by the OtelPower hypervisor agent\n");
        }

        var sampler = new HostSampler(
            new SensorOptions { ProcfsRoot = tree.Procfs, SysfsRoot = tree.Sysfs, PowercapPath = mount, CgroupfsRoot = null },
            new FakeTimeProvider(),
            new FakeLogger<HostSampler>());
        var sample = sampler.Sample();

        Assert.Equal(expected, sampler.Source);
        Assert.Equal(expected, sample.Source);
        Assert.Equal(42_000_000UL, Assert.Single(sample.Zones).EnergyMicrojoules);
    }

    [Fact]
    public void The_source_has_its_exported_name() => Assert.Equal("hypervisor", EnergySource.Hypervisor.ToName());
}
