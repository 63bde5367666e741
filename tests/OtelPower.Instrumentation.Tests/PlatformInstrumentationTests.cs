using OtelPower.Attribution;
using OtelPower.Attribution.Pools;

namespace OtelPower.Instrumentation.Tests;

public sealed class PlatformInstrumentationTests
{
    private static readonly EnergyZone Package = new("intel-rapl:0", "package-0", null, EnergyZoneKind.Package);
    private static readonly PoolDevice Meter = new(PlatformPool.Id, PlatformPool.Type, 0, "acpi_power_meter", "unknown", "ACPI power meter");

    [Fact]
    public void With_a_platform_meter_hw_host_is_the_whole_node_and_the_rest_has_its_own_series()
    {
        using var harness = new MetricsHarness();
        var ledger = new EnergyLedger();
        foreach (var (second, package, platform) in new[] { (0, 0UL, 0UL), (1, 100_000_000UL, 250_000_000UL), (2, 200_000_000UL, 500_000_000UL) })
        {
            var time = TimeSpan.FromSeconds(second);
            var sample = new HostSample(
                DateTimeOffset.UnixEpoch + time, time, EnergySource.Rapl, [new EnergyZoneReading(Package, package, 262_143_328_850)],
                new CpuTimes((ulong)second * 400, 0, 0), 4, [], 100,
                pools: [new EnergyPoolReading(Meter, PoolEnergySource.Power, platform, 0, 1, [], new Power(250))]);
            if (ledger.Record(sample) is { } snapshot)
            {
                harness.Feed.Publish(snapshot);
            }
        }

        var metrics = harness.CollectSettled();

        var host = Assert.Single(metrics["hw.host.energy"]);
        Assert.Equal(500.0, host.Value, 9);
        Assert.Equal("acpi_power_meter", host.Attributes["otelpower.source"]);
        Assert.Equal(250.0, Assert.Single(metrics["hw.host.power"]).Value, 9);
        Assert.Equal(300.0, Assert.Single(metrics["otelpower.platform.other.energy"]).Value, 9);
        Assert.Equal(150.0, Assert.Single(metrics["otelpower.platform.other.power"]).Value, 9);
        Assert.Equal(500.0, metrics["hw.energy"].Single(p => (string?)p.Attributes["hw.type"] == "platform").Value, 9);
        Assert.Equal(200.0, metrics["otelpower.idle.energy"].Single(p => (string?)p.Attributes["hw.type"] == "cpu").Value, 9); // the CPU pool is unchanged
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Divided_other_energy_is_a_platform_set_of_consumer_series_only_when_asked(bool includePlatformConsumers)
    {
        using var harness = new MetricsHarness(o => o.IncludePlatformConsumers = includePlatformConsumers);
        var ledger = new EnergyLedger(attributePlatformOther: true);
        var worker = new ProcessIdentity(new ProcessKey(10, 1000), "worker", "worker", null, isKernelThread: false);
        foreach (var (second, package, platform) in new[] { (0, 0UL, 0UL), (1, 100_000_000UL, 250_000_000UL), (2, 200_000_000UL, 500_000_000UL) })
        {
            var time = TimeSpan.FromSeconds(second);
            var sample = new HostSample(
                DateTimeOffset.UnixEpoch + time, time, EnergySource.Rapl, [new EnergyZoneReading(Package, package, 262_143_328_850)],
                new CpuTimes((ulong)second * 400, 0, 0), 4, [new ProcessCpuReading(worker, (ulong)second * 100)], 100,
                pools: [new EnergyPoolReading(Meter, PoolEnergySource.Power, platform, 0, 1, [], new Power(250))]);
            if (ledger.Record(sample) is { } snapshot)
            {
                harness.Feed.Publish(snapshot);
            }
        }

        var metrics = harness.CollectSettled();
        var platformSeries = metrics["otelpower.process.energy"].Where(p => (string?)p.Attributes["hw.type"] == "platform").ToList();
        if (!includePlatformConsumers)
        {
            Assert.Empty(platformSeries);
            Assert.DoesNotContain(metrics["otelpower.idle.energy"], p => (string?)p.Attributes["hw.type"] == "platform");
            return;
        }

        // 300 J of other energy; the worker used a quarter of the host's CPU time. Its first interval is booked in
        // its executable's series and the rest in its own, as for the CPU set.
        Assert.Equal(75.0, platformSeries.Sum(p => p.Value), 9);
        Assert.All(platformSeries, p => Assert.Equal("acpi_power_meter", p.Attributes["otelpower.source"]));
        Assert.Equal(37.5, platformSeries.Single(p => p.Attributes.TryGetValue("process.pid", out var pid) && (int?)pid == 10).Value, 9);
        Assert.Equal(225.0, metrics["otelpower.idle.energy"].Single(p => (string?)p.Attributes["hw.type"] == "platform").Value, 9);
        Assert.Equal(50.0, metrics["otelpower.process.energy"].Where(p => (string?)p.Attributes["hw.type"] == "cpu").Sum(p => p.Value), 9);
        Assert.Equal(37.5, metrics["otelpower.process.power"].Single(p => (string?)p.Attributes["hw.type"] == "platform" && p.Attributes.ContainsKey("process.pid")).Value, 9);
    }
}
