using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;
using OtelPower.Sensors.Hwmon;

namespace OtelPower.Sensors.Tests.Hwmon;

/// <summary>The sampler on hosts whose CPU or platform power comes from hwmon.</summary>
public sealed class HwmonHostTests
{
    /// <summary>The two-socket host's /proc with its RAPL tree removed and a chip's hwmon tree in its place.</summary>
    private static FixtureCopy HostWithout_rapl(string hwmonFixture)
    {
        var fixture = new FixtureCopy("two-socket");
        Directory.Delete(fixture.Path_("sys", "class", "powercap"), recursive: true);
        fixture.Overlay(hwmonFixture);
        return fixture;
    }

    [Theory]
    [InlineData("hwmon-ampere-smpro", 1)]
    [InlineData("hwmon-xgene", 1)]
    [InlineData("hwmon-nvidia-grace", 1)]
    [InlineData("hwmon-amd-energy", 2)]
    public void Without_rapl_hwmon_cpu_channels_are_the_cpu_pool_labelled_hwmon(string hwmonFixture, int zones)
    {
        using var fixture = HostWithout_rapl(hwmonFixture);
        var log = new FakeLogger<HostSampler>();
        var clock = new FakeTimeProvider();
        var sampler = new HostSampler(new SensorOptions { ProcfsRoot = fixture.Procfs, SysfsRoot = fixture.Sysfs, CgroupfsRoot = null }, clock, log);

        var sample = sampler.Sample();

        Assert.Equal(EnergySource.Hwmon, sampler.Source);
        Assert.Equal(EnergySource.Hwmon, sample.Source);
        Assert.Equal(zones, sample.Zones.Length);
        Assert.All(sample.Zones, z => Assert.True(z.Zone.CountsTowardHost));
        Assert.Contains(log.Collector.GetSnapshot(), e => e.Message.Contains("source=hwmon", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Collector.GetSnapshot(), e => e.Message.Contains("source=estimate", StringComparison.Ordinal));
    }

    [Fact]
    public void Smpro_cpu_power_is_divided_by_cpu_time_like_rapl_and_conserves()
    {
        using var fixture = HostWithout_rapl("hwmon-ampere-smpro");
        var clock = new FakeTimeProvider();
        var sampler = new HostSampler(new SensorOptions { ProcfsRoot = fixture.Procfs, SysfsRoot = fixture.Sysfs, CgroupfsRoot = null }, clock, new FakeLogger<HostSampler>());
        var ledger = new EnergyLedger();
        ledger.Record(sampler.Sample());

        clock.Advance(TimeSpan.FromSeconds(2));
        var snapshot = ledger.Record(sampler.Sample())!;

        Assert.Equal(190_000_000, snapshot.Host.Total.Microjoules); // 95 W for 2 s
        Assert.Equal(EnergySource.Hwmon, snapshot.Source);
        Assert.Equal(snapshot.Host.Total, snapshot.Processes.Aggregate(Energy.Zero, (sum, p) => sum + p.Energy.Total) + snapshot.Idle.Total);
    }

    [Fact]
    public void A_host_with_neither_rapl_nor_hwmon_cpu_power_is_estimated()
    {
        using var fixture = HostWithout_rapl("hwmon-amdgpu");
        var sampler = new HostSampler(new SensorOptions { ProcfsRoot = fixture.Procfs, SysfsRoot = fixture.Sysfs, CgroupfsRoot = null }, new FakeTimeProvider(), new FakeLogger<HostSampler>());
        Assert.Equal(EnergySource.Estimate, sampler.Source);
    }

    [Fact]
    public void Acpi_power_meter_is_a_platform_pool_integrated_over_time()
    {
        using var fixture = new FixtureCopy("hwmon-acpi-power-meter");
        var clock = new FakeTimeProvider();
        using var reader = AcpiPowerMeterReader.Open(fixture.Sysfs, clock, new FakeLogger<AcpiPowerMeterReader>())!;

        clock.Advance(TimeSpan.FromSeconds(1));
        fixture.Write("sys/class/hwmon/hwmon0/power1_average", "255000000\n");
        var reading = Assert.Single(reader.Read());

        Assert.Equal(PlatformPool.Type, reading.Device.Type);
        Assert.Equal(AcpiPowerMeterReader.SourceName, reading.Device.Name);
        Assert.Equal(250_000_000UL, reading.EnergyMicrojoules);
        Assert.Equal(255.0, reading.Power!.Value.Watts);
        Assert.Empty(reading.Usage);
    }

    [Fact]
    public void Grace_module_power_is_the_platform_pool()
    {
        using var fixture = new FixtureCopy("hwmon-nvidia-grace");
        var clock = new FakeTimeProvider();
        using var reader = AcpiPowerMeterReader.Open(fixture.Sysfs, clock, new FakeLogger<AcpiPowerMeterReader>())!;
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(50_000_000UL, Assert.Single(reader.Read()).EnergyMicrojoules);
    }
}
