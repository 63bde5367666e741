using OtelPower.Attribution;
using OtelPower.Sensors.Powercap;

namespace OtelPower.Sensors.Tests;

public sealed class PowercapReaderTests
{
    [Fact]
    public void Every_zone_of_both_sockets_is_found_with_its_name_kind_and_parent()
    {
        using var fixture = new FixtureCopy("two-socket");
        var zones = PowercapReader.Discover(fixture.Sysfs).Zones.Select(z => z.Zone).ToArray();

        // intel-rapl-mmio:0 duplicates package-0 and the intel-rapl control directory is no zone.
        Assert.Equal(
            [
                new EnergyZone("intel-rapl:0", "package-0", null, EnergyZoneKind.Package),
                new EnergyZone("intel-rapl:0:0", "core-0", "intel-rapl:0", EnergyZoneKind.Core),
                new EnergyZone("intel-rapl:0:1", "uncore-0", "intel-rapl:0", EnergyZoneKind.Uncore),
                new EnergyZone("intel-rapl:0:2", "dram-0", "intel-rapl:0", EnergyZoneKind.Dram),
                new EnergyZone("intel-rapl:1", "package-1", null, EnergyZoneKind.Package),
                new EnergyZone("intel-rapl:1:0", "core-1", "intel-rapl:1", EnergyZoneKind.Core),
                new EnergyZone("intel-rapl:1:1", "dram-1", "intel-rapl:1", EnergyZoneKind.Dram),
                new EnergyZone("intel-rapl:2", "psys", null, EnergyZoneKind.Psys),
            ],
            zones);
    }

    [Fact]
    public void Counters_and_ranges_are_read_exactly()
    {
        using var fixture = new FixtureCopy("two-socket");
        var zone = PowercapReader.Discover(fixture.Sysfs).Zones.Single(z => z.Zone.Id == "intel-rapl:0:2");
        Assert.True(PowercapReader.TryRead(zone, out var reading, out _));
        Assert.Equal(20_000_000UL, reading.EnergyMicrojoules);
        Assert.Equal(65_712_999_613UL, reading.MaxEnergyRangeMicrojoules);
    }

    [Theory]
    [InlineData("not-a-number\n")]
    [InlineData("")]
    [InlineData("-5\n")]
    [InlineData("+5\n")]
    [InlineData("18446744073709551616\n")] // ulong.MaxValue + 1
    [InlineData("12 34\n")]
    [InlineData("1234567890123456789012345678901234567890123456789012345678901234567890\n")] // longer than any counter
    public void Malformed_counter_is_reported_not_thrown(string contents)
    {
        using var fixture = new FixtureCopy("two-socket");
        var zone = PowercapReader.Discover(fixture.Sysfs).Zones[0];
        File.WriteAllText(zone.EnergyFile, contents);
        Assert.False(PowercapReader.TryRead(zone, out _, out var error));
        Assert.Equal(ZoneReadError.Malformed, error);
    }

    [Theory]
    [InlineData("18446744073709551615", 18_446_744_073_709_551_615UL)]
    [InlineData("  42\n", 42UL)]
    [InlineData("0\r\n", 0UL)]
    public void Counter_is_parsed_exactly_whatever_whitespace_surrounds_it(string contents, ulong microjoules)
    {
        using var fixture = new FixtureCopy("two-socket");
        var zone = PowercapReader.Discover(fixture.Sysfs).Zones[0];
        File.WriteAllText(zone.EnergyFile, contents);
        Assert.True(PowercapReader.TryRead(zone, out var reading, out var error));
        Assert.Equal(ZoneReadError.None, error);
        Assert.Equal(microjoules, reading.EnergyMicrojoules);
    }

    [Fact]
    public void Vanished_counter_is_missing()
    {
        using var fixture = new FixtureCopy("two-socket");
        var zone = PowercapReader.Discover(fixture.Sysfs).Zones[0];
        File.Delete(zone.EnergyFile);
        Assert.False(PowercapReader.TryRead(zone, out _, out var error));
        Assert.Equal(ZoneReadError.Missing, error);
    }

    [Fact]
    public void Unreadable_counter_is_permission_denied()
    {
        using var fixture = new FixtureCopy("two-socket");
        var zone = PowercapReader.Discover(fixture.Sysfs).Zones[0];
        // Tests run as root, for whom chmod denies nothing; the reader reports a directory (EISDIR) as access
        // denied, as .NET did, which is what a non-root reader of energy_uj gets (EACCES) since CVE-2020-8694.
        File.Delete(zone.EnergyFile);
        Directory.CreateDirectory(zone.EnergyFile);
        Assert.False(PowercapReader.TryRead(zone, out _, out var error));
        Assert.Equal(ZoneReadError.PermissionDenied, error);
    }

    [Fact]
    public void No_powercap_directory_means_no_zones() =>
        Assert.Empty(PowercapReader.Discover(Path.Combine(Path.GetTempPath(), "no-such-sysfs-" + Guid.NewGuid())).Zones);
}
