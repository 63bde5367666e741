using OtelPower.Sensors.Hwmon;

namespace OtelPower.Sensors.Tests.Hwmon;

public sealed class HwmonDiscoveryTests
{
    private static string Sysfs(string fixture) => Path.Combine(FixtureCopy.FixturesDirectory, fixture, "sys");

    /// <summary>Kepler's captured chips, used read-only where they lie.</summary>
    private static string KeplerSysfs => Deployment.Tests.RepositoryRoot.Combine("..", "shared", "peer-fixtures", "kepler", "sys");

    private static HwmonChannel Channel(string fixture, string id) => HwmonDiscovery.Discover(Sysfs(fixture)).Single(c => c.Id == id);

    [Fact]
    public void Acpi_power_meter_is_the_platform_and_a_temperature_chip_has_no_channel()
    {
        var channels = HwmonDiscovery.Discover(Sysfs("hwmon-acpi-power-meter"));

        var meter = Assert.Single(channels);
        Assert.Equal(HwmonRole.Platform, meter.Role);
        Assert.Equal(HwmonQuantity.Power, meter.Quantity);
        Assert.EndsWith("power1_average", meter.File, StringComparison.Ordinal);
        Assert.Null(meter.PciAddress);
    }

    [Fact]
    public void Smpro_cpu_power_is_the_cpu_pool_io_power_is_not_and_a_disabled_channel_is_skipped()
    {
        var channels = HwmonDiscovery.Discover(Sysfs("hwmon-ampere-smpro"));

        Assert.Equal(["hwmon0:power1", "hwmon0:power2", "hwmon1:power2"], channels.Select(c => c.Id));
        Assert.Equal(HwmonRole.Cpu, channels[0].Role);
        Assert.Equal("CPU power", channels[0].Label);
        Assert.Equal(HwmonRole.Other, channels[1].Role);
        Assert.Equal(HwmonRole.Other, channels[2].Role); // socket 1's CPU channel has power1_enable = 0
    }

    [Fact]
    public void Grace_rails_are_told_apart_by_their_oem_info()
    {
        var channels = HwmonDiscovery.Discover(Sysfs("hwmon-nvidia-grace"));

        Assert.Equal(
            [("Module Power Socket 0", HwmonRole.Platform), ("Grace Power Socket 0", HwmonRole.Other), ("CPU Power Socket 0", HwmonRole.Cpu), ("SysIO Power Socket 0", HwmonRole.Other)],
            channels.Select(c => (c.Label!, c.Role)));
    }

    [Fact]
    public void Xgene_cpu_power_is_the_cpu_pool()
    {
        Assert.Equal(HwmonRole.Cpu, Channel("hwmon-xgene", "hwmon0:power1").Role);
        Assert.Equal(HwmonRole.Other, Channel("hwmon-xgene", "hwmon0:power2").Role);
    }

    [Fact]
    public void Amd_energy_sockets_are_the_cpu_pool_and_cores_inside_them_are_not()
    {
        var channels = HwmonDiscovery.Discover(Sysfs("hwmon-amd-energy"));

        Assert.Equal(["Esocket0", "Esocket1"], channels.Where(c => c.Role == HwmonRole.Cpu).Select(c => c.Label));
        Assert.All(channels, c => Assert.Equal(HwmonQuantity.Energy, c.Quantity));
        Assert.Equal(2, channels.Count(c => c.Role == HwmonRole.Other));
    }

    [Fact]
    public void Amdgpu_is_a_gpu_read_from_its_average_with_the_pci_address_of_its_device()
    {
        var gpu = Assert.Single(HwmonDiscovery.Discover(Sysfs("hwmon-amdgpu")));

        Assert.Equal(HwmonRole.Gpu, gpu.Role);
        Assert.EndsWith("power1_average", gpu.File, StringComparison.Ordinal);
        Assert.Equal("0000:03:00.0", gpu.PciAddress);
        Assert.Equal("PPT", gpu.Label);
    }

    [Fact]
    public void Intel_gpus_are_read_from_their_first_energy_counter()
    {
        var channels = HwmonDiscovery.Discover(Sysfs("hwmon-intel-gpu"));

        var gpus = channels.Where(c => c.Role == HwmonRole.Gpu).ToList();
        Assert.Equal([("i915", "0000:00:02.0", "hwmon4:energy1"), ("xe", "0000:03:00.0", "hwmon5:energy1")], gpus.Select(g => (g.ChipName, g.PciAddress!, g.Id)));
        Assert.Equal(HwmonRole.Other, channels.Single(c => c.Id == "hwmon5:energy2").Role); // pkg is inside card
    }

    [Fact]
    public void Kepler_chips_amdgpu_prefers_the_average_and_unknown_chips_are_listed_as_other()
    {
        var channels = HwmonDiscovery.Discover(KeplerSysfs);

        var amdgpu = channels.Single(c => c.Id == "hwmon1:power1");
        Assert.Equal(HwmonRole.Gpu, amdgpu.Role);
        Assert.EndsWith("power1_average", amdgpu.File, StringComparison.Ordinal);
        Assert.Equal(HwmonRole.Other, channels.Single(c => c.Id == "hwmon0:power1").Role); // k10temp "Package"
        Assert.Single(channels, c => c.Role == HwmonRole.Gpu);
        Assert.DoesNotContain(channels, c => c.Role is HwmonRole.Cpu or HwmonRole.Platform);
    }

    [Fact]
    public void Kepler_disabled_power_and_energy_channels_are_skipped()
    {
        var channels = HwmonDiscovery.Discover(KeplerSysfs);

        Assert.Equal(["PSU_Rail_A", "PSU_Rail_B"], channels.Where(c => c.Id.StartsWith("hwmon_disabled_power:", StringComparison.Ordinal)).Select(c => c.Label));
        Assert.Equal(["Rail_A", "Rail_B"], channels.Where(c => c.Id.StartsWith("hwmon_energy_disabled:", StringComparison.Ordinal)).Select(c => c.Label));
    }

    [Fact]
    public void Kepler_chip_without_a_name_is_named_by_its_directory_and_a_device_path_file_gives_its_pci_address()
    {
        var channels = HwmonDiscovery.Discover(KeplerSysfs);

        Assert.Equal("hwmon_dir_fallback", channels.Single(c => c.Id == "hwmon_dir_fallback:power1").ChipName);
        Assert.Equal("0000:00:02.0", channels.Single(c => c.Id == "hwmon_device_path:power1").PciAddress);
        Assert.DoesNotContain(channels, c => c.Id.StartsWith("hwmon_ina", StringComparison.Ordinal)); // voltage and current only
    }

    [Theory]
    [InlineData("../../../0000:03:00.0", "0000:03:00.0")]
    [InlineData("../../../devices/pci0000:00/0000:00:01.1/0000:03:00.0", "0000:03:00.0")]
    [InlineData("../../../devices/pci0000:00/0000:00:02.0/drm/card0", "0000:00:02.0")]
    [InlineData("../../../devices/platform/NVDA2008:00", null)]
    [InlineData("", null)]
    public void Pci_address_is_the_last_pci_segment_of_the_device_path(string path, string? expected)
    {
        Assert.Equal(expected, HwmonDiscovery.PciAddressOf(path));
    }
}
