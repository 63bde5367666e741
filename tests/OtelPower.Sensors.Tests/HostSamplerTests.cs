using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OtelPower.Attribution;

namespace OtelPower.Sensors.Tests;

public sealed class HostSamplerTests
{
    private static (HostSampler Sampler, FakeLogger<HostSampler> Log, FakeTimeProvider Clock) Create(FixtureCopy fixture, string? cgroupfs = null)
    {
        var log = new FakeLogger<HostSampler>();
        var clock = new FakeTimeProvider();
        var options = new SensorOptions { ProcfsRoot = fixture.Procfs, SysfsRoot = fixture.Sysfs, CgroupfsRoot = cgroupfs };
        return (new HostSampler(options, clock, log), log, clock);
    }

    [Fact]
    public void Readable_rapl_is_the_source_and_every_zone_is_sampled()
    {
        using var fixture = new FixtureCopy("two-socket");
        var (sampler, _, clock) = Create(fixture);
        clock.Advance(TimeSpan.FromSeconds(2));
        var sample = sampler.Sample();

        Assert.Equal(EnergySource.Rapl, sampler.Source);
        Assert.Equal(EnergySource.Rapl, sample.Source);
        Assert.Equal(8, sample.Zones.Length);
        Assert.Equal(262_143_000_000UL, sample.Zones.Single(z => z.Zone.Id == "intel-rapl:1").EnergyMicrojoules);
        Assert.Equal(TimeSpan.FromSeconds(2), sample.MonotonicTime);
        Assert.Equal(9, sample.Processes.Length);
        Assert.Equal(GetConf("CLK_TCK"), sample.ClockTicksPerSecond);
    }

    [Fact]
    public void Clock_ticks_come_from_sysconf_not_from_the_fallback()
    {
        // The fallback is 100, which is also x86's USER_HZ: only asking whether sysconf answered tells them apart.
        Assert.True(Procfs.ClockTicks.TryQuerySysconf(out var ticks), "sysconf(_SC_CLK_TCK) did not answer");
        Assert.Equal(GetConf("CLK_TCK"), ticks);
    }

    private static long GetConf(string name)
    {
        var start = new System.Diagnostics.ProcessStartInfo("getconf", name) { RedirectStandardOutput = true };
        using var getconf = System.Diagnostics.Process.Start(start)!;
        var output = getconf.StandardOutput.ReadToEnd();
        getconf.WaitForExit();
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Wrapped_package_counter_reaches_the_engine_as_the_true_delta()
    {
        using var fixture = new FixtureCopy("two-socket");
        var (sampler, _, clock) = Create(fixture);
        var ledger = new EnergyLedger();
        ledger.Record(sampler.Sample());

        // package-1 sits 328,850 µJ below its range; it wraps to 671,150: 1 J in all.
        fixture.Write("sys/class/powercap/intel-rapl:1/energy_uj", "671150\n");
        clock.Advance(TimeSpan.FromSeconds(1));
        var snapshot = ledger.Record(sampler.Sample())!;

        Assert.Equal(1_000_000, snapshot.Zones.Single(z => z.Zone.Name == "package-1").Energy.Total.Microjoules);
        Assert.Equal(1_000_000, snapshot.Host.Total.Microjoules);
    }

    [Fact]
    public void Unreadable_package_counter_is_named_once_and_the_estimator_takes_over()
    {
        using var fixture = new FixtureCopy("two-socket");
        var energy = fixture.Path_("sys", "class", "powercap", "intel-rapl:1", "energy_uj");
        File.Delete(energy);
        Directory.CreateDirectory(energy); // read as permission denied (see PowercapReaderTests)

        var (sampler, log, _) = Create(fixture);

        Assert.Equal(EnergySource.Estimate, sampler.Source);
        var warning = Assert.Single(log.Collector.GetSnapshot(), e => e.Level == LogLevel.Warning);
        Assert.Contains(energy, warning.Message, StringComparison.Ordinal);
        Assert.Contains("permission denied", warning.Message, StringComparison.Ordinal);
        Assert.Contains("root", warning.Message, StringComparison.Ordinal);
        Assert.Contains("source=estimate", warning.Message, StringComparison.Ordinal);
        Assert.Equal(EnergySource.Estimate, sampler.Sample().Source);
    }

    [Fact]
    public void Unreadable_dram_zone_is_left_out_and_rapl_stays()
    {
        using var fixture = new FixtureCopy("two-socket");
        File.WriteAllText(fixture.Path_("sys", "class", "powercap", "intel-rapl:0:2", "energy_uj"), "garbage\n");
        var (sampler, log, _) = Create(fixture);

        Assert.Equal(EnergySource.Rapl, sampler.Source);
        Assert.DoesNotContain(sampler.Sample().Zones, z => z.Zone.Id == "intel-rapl:0:2");
        Assert.Contains(log.Collector.GetSnapshot(), e => e.Level == LogLevel.Warning && e.Message.Contains("intel-rapl:0:2", StringComparison.Ordinal));
    }

    [Fact]
    public void Zone_failing_mid_run_is_logged_once_and_again_when_it_recovers()
    {
        using var fixture = new FixtureCopy("two-socket");
        var (sampler, log, _) = Create(fixture);
        var dram = "sys/class/powercap/intel-rapl:1:1/energy_uj";
        fixture.Write(dram, "garbage\n");
        var during = sampler.Sample();
        sampler.Sample();
        sampler.Sample();
        fixture.Write(dram, "15000001\n");
        var after = sampler.Sample();

        Assert.DoesNotContain(during.Zones, z => z.Zone.Id == "intel-rapl:1:1");
        Assert.Contains(after.Zones, z => z.Zone.Id == "intel-rapl:1:1");
        var warnings = log.Collector.GetSnapshot().Where(e => e.Message.Contains("intel-rapl:1:1", StringComparison.Ordinal) && e.Level == LogLevel.Warning).ToArray();
        Assert.True(warnings.Length == 1, string.Join("\n", warnings.Select(w => w.Message)));
        Assert.Single(log.Collector.GetSnapshot(), e => e.Level == LogLevel.Information && e.Message.EndsWith("reads again.", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_powercap_falls_back_to_the_estimator_with_a_log_line()
    {
        using var fixture = new FixtureCopy("two-socket");
        Directory.Delete(fixture.Path_("sys", "class", "powercap"), recursive: true);
        var (sampler, log, _) = Create(fixture);

        Assert.Equal(EnergySource.Estimate, sampler.Source);
        Assert.Contains(log.Collector.GetSnapshot(), e => e.Message.Contains(Path.Combine(fixture.Sysfs, "class", "powercap"), StringComparison.Ordinal));
    }

    [Fact]
    public void Estimate_is_the_model_times_the_interval_exactly()
    {
        using var fixture = new FixtureCopy("two-socket");
        Directory.Delete(fixture.Path_("sys", "class", "powercap"), recursive: true);
        var (sampler, _, clock) = Create(fixture);
        var ledger = new EnergyLedger();
        ledger.Record(sampler.Sample());

        // 4 CPUs; 1,000 more ticks of which 250 busy: u = 0.25, W = 4 x (0.74 + 0.25 x 2.76) = 5.72 W; for 2 s: 11.44 J.
        fixture.Write("proc/stat", "cpu  1250 100 400 8750 200 50 50 200 300 20\ncpu0 1 0 0 1\ncpu1 1 0 0 1\ncpu2 1 0 0 1\ncpu3 1 0 0 1\n");
        clock.Advance(TimeSpan.FromSeconds(2));
        var snapshot = ledger.Record(sampler.Sample())!;

        Assert.Equal(EnergySource.Estimate, snapshot.Source);
        Assert.Equal(11_440_000, snapshot.Host.Total.Microjoules);
        Assert.Equal(5.72, snapshot.Host.Power.Watts, 9);
        Assert.Equal("cpu-estimate", Assert.Single(snapshot.Zones).Zone.Name);
    }

    [Fact]
    public void Estimator_coefficients_come_from_the_options()
    {
        using var fixture = new FixtureCopy("two-socket");
        Directory.Delete(fixture.Path_("sys", "class", "powercap"), recursive: true);
        var clock = new FakeTimeProvider();
        var options = new SensorOptions
        {
            ProcfsRoot = fixture.Procfs,
            SysfsRoot = fixture.Sysfs,
            CgroupfsRoot = null,
            Estimator = { MinWattsPerCpu = 2, MaxWattsPerCpu = 10 },
        };
        var sampler = new HostSampler(options, clock, new FakeLogger<HostSampler>());
        var ledger = new EnergyLedger();
        ledger.Record(sampler.Sample());
        clock.Advance(TimeSpan.FromSeconds(1));

        // No CPU time passed: u = 0, so 4 CPUs x 2 W for 1 s.
        Assert.Equal(8_000_000, ledger.Record(sampler.Sample())!.Host.Total.Microjoules);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Bad_procfs_root_is_a_configuration_error_naming_the_file(bool exists)
    {
        using var fixture = new FixtureCopy("two-socket");
        if (exists)
        {
            fixture.Write("proc/stat", "nothing useful\n");
        }
        else
        {
            File.Delete(fixture.Path_("proc", "stat"));
        }

        var error = Assert.Throws<SensorConfigurationException>(() => Create(fixture));
        Assert.Contains(Path.Combine(fixture.Procfs, "stat"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Containers_are_measured_from_the_cgroup_tree()
    {
        using var fixture = new FixtureCopy("two-socket");
        using var cgroups = new FixtureCopy("cgroup-v2");
        var (sampler, _, _) = Create(fixture, cgroups.Root);
        var sample = sampler.Sample();
        Assert.Equal(4, sample.Containers.Length);
        Assert.Contains(sample.Processes, p => p.Process.Container?.ContainerId == sample.Containers.Single(c => c.CpuMicroseconds == 7_500_000).Workload.Id);
    }

    [Fact]
    public void A_container_whose_id_the_api_has_not_reported_is_named_by_its_pod_uid_and_a_known_id_wins()
    {
        using var fixture = new FixtureCopy("two-socket");
        using var cgroups = new FixtureCopy("cgroup-v2");
        var (sampler, _, _) = Create(fixture, cgroups.Root);
        const string Uid = "0d8b2c4e-1f3a-4b5c-9d7e-2a4b6c8d0e1f";
        var inPod = sampler.Sample().Containers.Where(c => ((ContainerIdentity)c.Workload).PodUid == Uid).Select(c => c.Workload.Id).ToList();
        Assert.True(inPod.Count >= 2, "the fixture pod has two containers");
        var pods = new Dictionary<string, ContainerMetadata> { [Uid] = new("web-7d9f", "shop", null, ContainerMetadata.NoLabels) };
        var known = ImmutableDictionary<string, ContainerMetadata>.Empty.Add(inPod[0], new ContainerMetadata("web-7d9f", "shop", "nginx", ContainerMetadata.NoLabels));

        var sample = sampler.Sample(known, pods);

        Assert.Equal("nginx", sample.ContainerMetadata[inPod[0]].ContainerName);
        Assert.All(inPod.Skip(1), id =>
        {
            Assert.Equal("web-7d9f", sample.ContainerMetadata[id].PodName);
            Assert.Equal("shop", sample.ContainerMetadata[id].Namespace);
            Assert.Null(sample.ContainerMetadata[id].ContainerName);
        });
        Assert.Equal(inPod.Count, sample.ContainerMetadata.Count);
    }
}
