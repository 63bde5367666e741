using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using System.Globalization;
using OtelPower.Attribution.Pools;
using OtelPower.Sensors.Drm;
using OtelPower.Sensors.Hwmon;

namespace OtelPower.Sensors.Tests.Hwmon;

/// <summary>An AMD GPU from hwmon with per-process engine time from DRM fdinfo, on a copied fixture and a fake clock.</summary>
public sealed class HwmonGpuReaderTests : IDisposable
{
    private const string Pdev = "0000:03:00.0";
    private readonly FixtureCopy _fixture = new("hwmon-amdgpu");
    private readonly FakeTimeProvider _clock = new();
    private readonly FakeLogger<HwmonGpuReader> _log = new();

    public void Dispose() => _fixture.Dispose();

    private void Fd(int pid, int fd, string target, string? fdinfo)
    {
        var process = _fixture.Path_("proc", pid.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(Path.Combine(process, "fd"));
        Directory.CreateDirectory(Path.Combine(process, "fdinfo"));
        var link = Path.Combine(process, "fd", fd.ToString(CultureInfo.InvariantCulture));
        if (!File.Exists(link) && !Directory.Exists(link) && new FileInfo(link).LinkTarget is null)
        {
            File.CreateSymbolicLink(link, target);
        }

        File.WriteAllText(Path.Combine(process, "fdinfo", fd.ToString(CultureInfo.InvariantCulture)), fdinfo ?? "pos:\t0\nflags:\t02\nmnt_id:\t25\n");
    }

    private static string Amdgpu(string pdev, int client, ulong gfx, ulong compute) => string.Create(CultureInfo.InvariantCulture, $"""
        pos:	0
        flags:	02100002
        mnt_id:	24
        ino:	1075
        drm-driver:	amdgpu
        drm-client-id:	{client}
        drm-pdev:	{pdev}
        pasid:	32771
        drm-memory-vram:	2048 KiB
        drm-engine-gfx:	{gfx} ns
        drm-engine-compute:	{compute} ns
        drm-engine-dma:	0 ns

        """);

    private void Step(ulong client7Gfx, ulong client9Compute)
    {
        // pid 300 holds client 7 through two fds (a dup): counted once.
        Fd(300, 4, "/dev/dri/renderD128", Amdgpu(Pdev, 7, client7Gfx, 0));
        Fd(300, 5, "/dev/dri/renderD128", Amdgpu(Pdev, 7, client7Gfx, 0));
        Fd(300, 1, "/dev/null", null);
        Fd(400, 3, "/dev/dri/renderD128", Amdgpu(Pdev, 9, 100_000_000, client9Compute));
        Fd(500, 3, "/dev/dri/renderD129", Amdgpu("0000:04:00.0", 2, client7Gfx, 0)); // a GPU hwmon does not know
    }

    [Fact]
    public void Engine_time_of_each_client_over_the_interval_is_its_usage_of_the_gpu_with_that_pci_address()
    {
        Step(client7Gfx: 1_000_000_000, client9Compute: 0);
        using var reader = HwmonGpuReader.Open(_fixture.Sysfs, _fixture.Procfs, _clock, _log)!;
        Assert.NotNull(reader);

        _clock.Advance(TimeSpan.FromSeconds(1));
        Step(client7Gfx: 1_500_000_000, client9Compute: 250_000_000);
        var reading = Assert.Single(reader.Read());

        Assert.Equal(new PoolDevice(Pdev, "gpu", 0, "amdgpu-0", "amd", null), reading.Device);
        Assert.Equal(PoolEnergySource.Power, reading.Source);
        Assert.Equal(153_000_000UL, reading.EnergyMicrojoules); // 153 W for 1 s
        Assert.Equal(1_000_000_000UL, reading.CapacityUnits);
        Assert.Equal(new[] { new PoolProcessUsage(300, 500_000_000), new PoolProcessUsage(400, 250_000_000) }, reading.Usage.ToArray());
        Assert.Equal(0.75, reading.Gpu!.UtilizationRatio!.Value, 9);
        Assert.Contains(_log.Collector.GetSnapshot(), e => e.Message.Contains("Reading 1 GPUs from hwmon", StringComparison.Ordinal));
    }

    [Fact]
    public void A_client_first_seen_counts_from_the_next_read_and_a_vanished_process_is_skipped()
    {
        using var reader = HwmonGpuReader.Open(_fixture.Sysfs, _fixture.Procfs, _clock, _log)!;
        _clock.Advance(TimeSpan.FromSeconds(1));
        Step(client7Gfx: 900_000_000, client9Compute: 0);
        Assert.Empty(Assert.Single(reader.Read()).Usage);

        Directory.Delete(_fixture.Path_("proc", "400"), recursive: true);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Step(client7Gfx: 1_000_000_000, client9Compute: 0);
        Directory.Delete(_fixture.Path_("proc", "400"), recursive: true);
        var reading = Assert.Single(reader.Read());

        Assert.Equal(new[] { new PoolProcessUsage(300, 100_000_000) }, reading.Usage.ToArray());
    }

    [Fact]
    public void Unreadable_power_leaves_the_gpu_out_and_says_so_once()
    {
        using var reader = HwmonGpuReader.Open(_fixture.Sysfs, _fixture.Procfs, _clock, _log)!;
        var power = _fixture.Path_("sys", "class", "hwmon", "hwmon3", "power1_average");
        File.Delete(power);
        Assert.Empty(reader.Read());
        Assert.Empty(reader.Read());
        Assert.Single(_log.Collector.GetSnapshot(), e => e.Message.Contains("cannot read", StringComparison.Ordinal));

        File.WriteAllText(power, "100000000\n");
        Assert.Single(reader.Read());
        Assert.Contains(_log.Collector.GetSnapshot(), e => e.Message.Contains("reads again", StringComparison.Ordinal));
    }

    [Fact]
    public void A_host_without_an_hwmon_gpu_opens_no_reader()
    {
        using var fixture = new FixtureCopy("hwmon-ampere-smpro");
        Assert.Null(HwmonGpuReader.Open(fixture.Sysfs, fixture.Procfs, _clock, _log));
    }

    [Theory]
    [InlineData("pos:\t0\nflags:\t02\n")]
    [InlineData("drm-driver:\tamdgpu\ndrm-pdev:\t0000:03:00.0\n")]
    [InlineData("drm-driver:\tamdgpu\ndrm-client-id:\tx\ndrm-pdev:\t0000:03:00.0\n")]
    public void Fdinfo_without_a_driver_device_and_client_is_not_a_drm_client(string text)
    {
        Assert.False(DrmFdinfo.TryParse(text, out _));
    }

    [Fact]
    public void Engine_time_is_per_engine_of_its_class()
    {
        const string I915 = "drm-driver:\ti915\ndrm-pdev:\t0000:00:02.0\ndrm-client-id:\t5\ndrm-engine-render:\t4000 ns\ndrm-engine-video:\t900 ns\ndrm-engine-capacity-video:\t2\n";
        Assert.True(DrmFdinfo.TryParse(I915, out var fdinfo));
        Assert.Equal(4000UL, fdinfo!.Engines["render"]);
        Assert.Equal(450UL, fdinfo.Engines["video"]);
        Assert.Equal("i915", fdinfo.Driver);
        Assert.Equal(5UL, fdinfo.ClientId);
    }

    [Fact]
    public void Xe_cycles_are_busy_time_against_the_gpu_timestamp_per_engine_of_its_class()
    {
        const string Xe = "drm-driver:\txe\ndrm-pdev:\t0000:03:00.0\ndrm-client-id:\t11\ndrm-cycles-rcs:\t500\ndrm-total-cycles-rcs:\t9000\n" +
            "drm-cycles-ccs:\t40\ndrm-total-cycles-ccs:\t9000\ndrm-engine-capacity-ccs:\t4\ndrm-cycles-bcs:\t7\n";
        Assert.True(DrmFdinfo.TryParse(Xe, out var fdinfo));
        Assert.Equal(new DrmEngineCycles(500, 9000, 1), fdinfo!.CycleEngines["rcs"]);
        Assert.Equal(new DrmEngineCycles(40, 9000, 4), fdinfo.CycleEngines["ccs"]);
        Assert.False(fdinfo.CycleEngines.ContainsKey("bcs")); // no timestamp to measure it against
        Assert.Empty(fdinfo.Engines);

        // 1 s later: rcs busy 250,000 of 1,000,000 timestamp cycles, ccs 2,000,000 of 4 x 1,000,000.
        Assert.Equal(250_000_000UL, new DrmEngineCycles(250_500, 1_009_000, 1).BusyNanosecondsSince(fdinfo.CycleEngines["rcs"], 1_000_000_000));
        Assert.Equal(500_000_000UL, new DrmEngineCycles(2_000_040, 1_009_000, 4).BusyNanosecondsSince(fdinfo.CycleEngines["ccs"], 1_000_000_000));
        Assert.Equal(0UL, new DrmEngineCycles(900, 9000, 1).BusyNanosecondsSince(fdinfo.CycleEngines["rcs"], 1_000_000_000)); // the timestamp stood still
        Assert.Equal(1_000_000_000UL, new DrmEngineCycles(5_000_500, 1_009_000, 1).BusyNanosecondsSince(fdinfo.CycleEngines["rcs"], 1_000_000_000)); // never above the interval
    }

    [Fact]
    public void An_xe_gpu_gets_per_process_usage_from_cycles_and_an_i915_gpu_from_ns_on_one_host()
    {
        using var fixture = new FixtureCopy("hwmon-intel-gpu");
        void Client(int pid, string fdinfo)
        {
            var process = fixture.Path_("proc", pid.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(Path.Combine(process, "fd"));
            Directory.CreateDirectory(Path.Combine(process, "fdinfo"));
            var link = Path.Combine(process, "fd", "3");
            if (new FileInfo(link).LinkTarget is null)
            {
                File.CreateSymbolicLink(link, "/dev/dri/renderD128");
            }

            File.WriteAllText(Path.Combine(process, "fdinfo", "3"), fdinfo);
        }

        void Step(ulong rcsCycles, ulong timestamp, ulong renderNs)
        {
            Client(600, string.Create(CultureInfo.InvariantCulture,
                $"drm-driver:\txe\ndrm-pdev:\t0000:03:00.0\ndrm-client-id:\t11\ndrm-cycles-rcs:\t{rcsCycles}\ndrm-total-cycles-rcs:\t{timestamp}\n"));
            Client(700, string.Create(CultureInfo.InvariantCulture,
                $"drm-driver:\ti915\ndrm-pdev:\t0000:00:02.0\ndrm-client-id:\t3\ndrm-engine-render:\t{renderNs} ns\n"));
        }

        Step(rcsCycles: 1_000, timestamp: 50_000, renderNs: 10);
        using var reader = HwmonGpuReader.Open(fixture.Sysfs, fixture.Procfs, _clock, _log)!;
        Assert.NotNull(reader);

        _clock.Advance(TimeSpan.FromSeconds(2));
        Step(rcsCycles: 1_000 + 3_000_000, timestamp: 50_000 + 4_000_000, renderNs: 10 + 500_000_000);
        var readings = reader.Read().ToDictionary(r => r.Device.Id);

        Assert.Equal(new[] { new PoolProcessUsage(600, 1_500_000_000) }, readings["0000:03:00.0"].Usage.ToArray()); // 75 % of 2 s
        Assert.Equal(new[] { new PoolProcessUsage(700, 500_000_000) }, readings["0000:00:02.0"].Usage.ToArray());
        Assert.All(readings.Values, r => Assert.Equal(2_000_000_000UL, r.CapacityUnits));
    }
}
