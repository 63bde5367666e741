using System.Globalization;
using System.Text.Json;
using OtelPower.Testing;
using OtelPower.Agent.Tests.Prometheus;
using OtelPower.Deployment.Tests;

namespace OtelPower.Agent.Tests;

/// <summary>
/// The built agent with the meters of issue 14 on fixture hosts: an ACPI power meter beside RAPL, an ARM-like
/// host whose CPU power is only in hwmon, and an AMD GPU read from hwmon with per-process engine time from DRM
/// fdinfo. Power channels are integrated on the agent's own clock, so the checks below are the ones that hold
/// whatever its timing (conservation, ratios, labels); exact joules are the readers' tests.
/// </summary>
public sealed class MetersEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);
    private readonly TemporaryDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Acpi_power_meter_on_a_rapl_host_is_the_whole_node_and_other_is_platform_less_cpu()
    {
        var tree = new SyntheticHostTree(_directory.Path);
        tree.WriteZone("intel-rapl:0", "package-0", 1_000_000);
        tree.WriteCpu(1_000, 19_000, cpuCount: 4);
        tree.WriteProcess(300, "worker", 100, startTicks: 30);
        WriteAcpiPowerMeter(tree); // 300 W for the whole node

        await using var agent = StartAgent(tree, "--exporter", "json,prometheus", "--prometheus-port", "0");
        await using var prometheus = await PrometheusServer.StartAsync(await agent.PrometheusPortAsync(), scrapeInterval: "500ms");

        JsonElement line = default;
        ulong rapl = 1_000_000, ticks = 100;
        for (var step = 0; step < 3; step++)
        {
            await agent.ReadLineAsync(Wait); // a sample between steps
            tree.BeginStep();
            rapl += 20_000_000; // 20 J of CPU per step: far below what the meter sees in any interval
            ticks += 50;
            tree.WriteEnergy("intel-rapl:0", rapl);
            tree.WriteProcess(300, "worker", ticks, startTicks: 30);
            tree.WriteCpu(1_000 + (ticks - 100), 19_000 + (ulong)(step * 150), cpuCount: 4);
            tree.CommitStep();
            line = await agent.ReadUntilAsync(l => l.GetProperty("host").GetProperty("energy_j").GetDouble() >= (rapl - 1_000_000) / 1e6 - 1e-9, "met the condition", Wait);
        }

        var platform = line.GetProperty("platform");
        Assert.Equal("acpi_power_meter", platform.GetProperty("source").GetString());
        AssertPowerNear(300.0, platform.GetProperty("power_w").GetDouble());
        var host = line.GetProperty("host").GetProperty("energy_j").GetDouble();
        Assert.Equal(60.0, host, 1e-6);
        var platformEnergy = platform.GetProperty("energy_j").GetDouble();
        Assert.True(platformEnergy > host, $"platform {platformEnergy} J must exceed the CPU's {host} J");
        Assert.Equal(platformEnergy - host, platform.GetProperty("other_energy_j").GetDouble(), 1e-5);
        Assert.Equal("rapl", line.GetProperty("source").GetString());

        // OpenTelemetry: hw.host.* is the whole node, and the rest of the node has its own series.
        var lastTime = DateTimeOffset.Parse(line.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds() / 1000.0;
        await prometheus.WaitForAsync(
            async () => (await prometheus.QueryAsync("otelpower_platform_other_energy_joules_total")).Count > 0
                && (await prometheus.SamplesAsync("otelpower_platform_other_energy_joules_total"))[^1].Time > lastTime + 0.2,
            Wait,
            "a scrape with the platform's other energy");

        // A series is scraped at 0 first and carries its joules from the next scrape on.
        await prometheus.WaitForAsync(
            async () => (await prometheus.QueryAsync("hw_host_energy_joules_total")).SingleOrDefault().Value >= platformEnergy - 1e-6,
            Wait,
            "the whole node's joules in hw.host.energy");
        var hostSeries = Assert.Single(await prometheus.QueryAsync("hw_host_energy_joules_total"));
        Assert.Equal("acpi_power_meter", hostSeries.Labels["otelpower_source"]);
        Assert.True(hostSeries.Value >= platformEnergy - 1e-6);
        Assert.Single(await prometheus.QueryAsync("otelpower_platform_other_power_watts"));
        Assert.Single(await prometheus.QueryAsync("hw_energy_joules_total{hw_type=\"platform\"}"));
        foreach (var query in DashboardQueries.Load().Where(q => q.PanelTitle == "Node power: CPU, GPU and the rest of the node" && !q.Expression.Contains("gpu", StringComparison.Ordinal)))
        {
            var promql = DashboardQueries.ForPrometheus(query.Expression, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10));
            Assert.True((await prometheus.QueryAsync(promql)).Count > 0, $"dashboard query {query.RefId} returned nothing: {promql}");
        }

        Assert.Contains("Whole-node power from the ACPI power meter", agent.StandardError, StringComparison.Ordinal);

        // Off by default: consumers carry no platform energy and no platform consumer series exist.
        Assert.All(line.GetProperty("processes").EnumerateArray(), p => Assert.False(p.TryGetProperty("platform_energy_j", out _)));
        Assert.False(platform.TryGetProperty("other_idle_energy_j", out _));
        Assert.Empty(await prometheus.QueryAsync("otelpower_process_energy_joules_total{hw_type=\"platform\"}"));
    }

    [Fact]
    public async Task Attribute_platform_divides_the_other_energy_by_cpu_time_and_it_conserves()
    {
        var tree = new SyntheticHostTree(_directory.Path);
        tree.WriteZone("intel-rapl:0", "package-0", 1_000_000);
        tree.WriteCpu(1_000, 19_000, cpuCount: 4);
        tree.WriteProcess(300, "worker", 100, startTicks: 30);
        tree.WriteProcess(301, "helper", 100, startTicks: 31);
        WriteAcpiPowerMeter(tree);

        await using var agent = StartAgent(
            tree,
            "--exporter", "json,prometheus", "--prometheus-port", "0",
            "--attribute-platform");
        await using var prometheus = await PrometheusServer.StartAsync(await agent.PrometheusPortAsync(), scrapeInterval: "500ms");

        JsonElement line = default;
        ulong rapl = 1_000_000, worker = 100, helper = 100, busy = 0;
        for (var step = 0; step < 3; step++)
        {
            await agent.ReadLineAsync(Wait);
            tree.BeginStep();
            rapl += 20_000_000;
            worker += 40;
            helper += 10;
            busy += 50;
            tree.WriteEnergy("intel-rapl:0", rapl);
            tree.WriteProcess(300, "worker", worker, startTicks: 30);
            tree.WriteProcess(301, "helper", helper, startTicks: 31);
            tree.WriteCpu(1_000 + busy, 19_000 + (ulong)(step * 150), cpuCount: 4);
            tree.CommitStep();
            line = await agent.ReadUntilAsync(l => l.GetProperty("host").GetProperty("energy_j").GetDouble() >= (rapl - 1_000_000) / 1e6 - 1e-9, "met the condition", Wait);
        }

        var platform = line.GetProperty("platform");
        var other = platform.GetProperty("other_energy_j").GetDouble();
        var idle = platform.GetProperty("other_idle_energy_j").GetDouble();
        var shares = line.GetProperty("processes").EnumerateArray().ToDictionary(p => p.GetProperty("pid").GetInt32(), p => p.GetProperty("platform_energy_j").GetDouble());
        Assert.True(other > 0, $"other energy {other} J");
        Assert.Equal(other, shares.Values.Sum() + idle, 1e-5); // every microjoule of the other energy is a share or idle
        Assert.True(shares[300] > 2 * shares[301], $"the worker used 4x the helper's CPU time: {shares[300]} J vs {shares[301]} J");
        Assert.True(shares[301] > 0);
        Assert.Equal(60.0, line.GetProperty("host").GetProperty("energy_j").GetDouble(), 1e-6); // the CPU pool is unchanged

        await prometheus.WaitForAsync(
            async () => (await prometheus.QueryAsync("sum(otelpower_process_energy_joules_total{hw_type=\"platform\"})")).SingleOrDefault().Value > 0,
            Wait,
            "platform joules on the process series");
        var series = await prometheus.QueryAsync("otelpower_process_energy_joules_total{hw_type=\"platform\"}");
        Assert.All(series, s => Assert.Equal("acpi_power_meter", s.Labels["otelpower_source"]));
        Assert.Single(await prometheus.QueryAsync("otelpower_idle_energy_joules_total{hw_type=\"platform\"}"));
    }

    [Fact]
    public async Task Arm_like_host_with_only_hwmon_cpu_power_is_measured_as_hwmon_and_shared_by_cpu_time()
    {
        var tree = new SyntheticHostTree(_directory.Path); // no RAPL zone
        tree.WriteCpu(1_000, 19_000, cpuCount: 4);
        tree.WriteProcess(300, "solver", 100, startTicks: 30);
        tree.WriteProcess(400, "logger", 100, startTicks: 40);
        tree.WriteFile("sys/class/hwmon/hwmon0/name", "smpro\n");
        tree.WriteFile("sys/class/hwmon/hwmon0/power1_input", "120000000\n");
        tree.WriteFile("sys/class/hwmon/hwmon0/power1_label", "CPU power\n");
        tree.WriteFile("sys/class/hwmon/hwmon0/power2_input", "15000000\n");
        tree.WriteFile("sys/class/hwmon/hwmon0/power2_label", "IO power\n");

        await using var agent = StartAgent(tree, "--exporter", "json");

        ulong solver = 100, logger = 100, busy = 1_000;
        for (var step = 0; step < 3; step++)
        {
            await agent.ReadLineAsync(Wait); // a sample between steps
            tree.BeginStep();
            solver += 300;
            logger += 100;
            busy += 400;
            tree.WriteProcess(300, "solver", solver, startTicks: 30);
            tree.WriteProcess(400, "logger", logger, startTicks: 40);
            tree.WriteCpu(busy, 19_000 + (ulong)(step * 400), cpuCount: 4);
            tree.CommitStep();
        }

        var line = await agent.ReadUntilAsync(l => Process(l, 300) is { } p && Process(l, 400) is { } q
            && p.GetProperty("energy_j").GetDouble() > 0 && Math.Abs((p.GetProperty("energy_j").GetDouble() / q.GetProperty("energy_j").GetDouble()) - 3) < 1e-3, "met the condition", Wait);

        Assert.Equal("hwmon", line.GetProperty("source").GetString());
        var host = line.GetProperty("host");
        AssertPowerNear(120.0, host.GetProperty("power_w").GetDouble());
        var zone = Assert.Single(line.GetProperty("zones").EnumerateArray());
        Assert.Equal("hwmon:hwmon0:power1", zone.GetProperty("id").GetString());
        Assert.Equal("smpro-0", zone.GetProperty("name").GetString());

        var processes = line.GetProperty("processes").EnumerateArray().ToList();
        var sum = processes.Sum(p => p.GetProperty("energy_j").GetDouble());
        Assert.Equal(host.GetProperty("energy_j").GetDouble(), sum + line.GetProperty("idle").GetProperty("energy_j").GetDouble(), 1e-5);
        Assert.Contains("source=hwmon", agent.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("source=estimate", agent.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Amd_gpu_from_hwmon_and_fdinfo_gives_per_process_gpu_joules_that_conserve()
    {
        const string Pdev = "0000:03:00.0";
        var tree = new SyntheticHostTree(_directory.Path);
        tree.WriteZone("intel-rapl:0", "package-0", 1_000_000);
        tree.WriteCpu(1_000, 19_000, cpuCount: 4);
        tree.WriteProcess(300, "trainer", 100, startTicks: 30);
        tree.WriteProcess(400, "render", 100, startTicks: 40);
        tree.WriteFile("sys/class/hwmon/hwmon2/name", "amdgpu\n");
        tree.WriteFile("sys/class/hwmon/hwmon2/power1_average", "200000000\n");
        tree.WriteFile("sys/class/hwmon/hwmon2/power1_label", "PPT\n");
        tree.WriteLink("sys/class/hwmon/hwmon2/device", "../../../" + Pdev);

        // pid 300: one client (7) through two fds; pid 400: client 9. Engine time per step: 2:1.
        ulong trainer = 1_000_000_000, render = 500_000_000;
        void Fdinfo()
        {
            tree.WriteLink("proc/300/fd/4", "/dev/dri/renderD128");
            tree.WriteLink("proc/300/fd/5", "/dev/dri/renderD128");
            tree.WriteLink("proc/300/fd/0", "/dev/null");
            tree.WriteLink("proc/400/fd/3", "/dev/dri/renderD128");
            tree.WriteFile("proc/300/fdinfo/4", Amdgpu(Pdev, 7, trainer));
            tree.WriteFile("proc/300/fdinfo/5", Amdgpu(Pdev, 7, trainer));
            tree.WriteFile("proc/300/fdinfo/0", "pos:\t0\nflags:\t0100002\nmnt_id:\t25\n");
            tree.WriteFile("proc/400/fdinfo/3", Amdgpu(Pdev, 9, render));
        }

        Fdinfo();
        await using var agent = StartAgent(tree, "--exporter", "json");

        for (var step = 0; step < 3; step++)
        {
            await agent.ReadLineAsync(Wait); // a sample between steps, so each step's engine time lands in an interval
            tree.BeginStep();
            trainer += 200_000_000;
            render += 100_000_000;
            Fdinfo();
            tree.CommitStep();
        }

        var line = await agent.ReadUntilAsync(l => Gpu(Process(l, 300)) > 0 && Gpu(Process(l, 400)) > 0
            && Math.Abs((Gpu(Process(l, 300)) / Gpu(Process(l, 400))) - 2) < 1e-3, "met the condition", Wait);

        var gpu = Assert.Single(line.GetProperty("gpus").EnumerateArray());
        Assert.Equal(Pdev, gpu.GetProperty("uuid").GetString());
        Assert.Equal("amd", gpu.GetProperty("vendor").GetString());
        Assert.Equal("amdgpu-0", gpu.GetProperty("name").GetString());
        Assert.Equal("power", gpu.GetProperty("source").GetString());
        AssertPowerNear(200.0, gpu.GetProperty("power_w").GetDouble());

        // Per GPU: the processes' shares and its idle are its energy, to the microjoule of each interval's floors.
        var processes = line.GetProperty("processes").EnumerateArray().Sum(p => p.GetProperty("gpu_energy_j").GetDouble());
        Assert.Equal(gpu.GetProperty("energy_j").GetDouble(), processes + gpu.GetProperty("idle_energy_j").GetDouble(), 1e-5);

        // Client 7 is counted once although two fds hold it: 2:1, not 4:1.
        Assert.Equal(2.0, Gpu(Process(line, 300)) / Gpu(Process(line, 400)), 1e-3);
        Assert.Contains("Reading 1 GPUs from hwmon", agent.StandardError, StringComparison.Ordinal);
    }

    /// <summary>The agent on a fixture host, sampling every 0.5 s, with no cgroups, NVML or container engines.</summary>
    private static AgentProcess StartAgent(SyntheticHostTree tree, params string[] arguments) => AgentProcess.Start(
    [
        "--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", "", "--interval", "0.5", "--nvml-library", "", "--container-engines", "",
        .. arguments,
    ]);

    /// <summary>An ACPI power meter (hwmon <c>power_meter</c>) reading 300 W for the whole node.</summary>
    private static void WriteAcpiPowerMeter(SyntheticHostTree tree)
    {
        tree.WriteFile("sys/class/hwmon/hwmon0/name", "power_meter\n");
        tree.WriteFile("sys/class/hwmon/hwmon0/power1_average", "300000000\n");
        tree.WriteFile("sys/class/hwmon/hwmon0/power1_average_interval", "1000\n");
        tree.WriteLink("sys/class/hwmon/hwmon0/device", "../../../devices/LNXSYSTM:00/LNXSYBUS:00/ACPI000D:00");
    }

    /// <summary>
    /// A power channel's watts over one interval: the reader integrates on its own clock at the instant it reads,
    /// and the interval is the sampler's, a few ms apart on a loaded machine (2 % of a 0.5 s interval was seen with
    /// two CPU burners beside the suite). 10 % still tells a µW from a mW and an integrated channel from a missing one.
    /// </summary>
    private static void AssertPowerNear(double expectedWatts, double actualWatts) =>
        Assert.InRange(actualWatts, expectedWatts * 0.9, expectedWatts * 1.1);

    private static string Amdgpu(string pdev, int client, ulong gfx) => string.Create(CultureInfo.InvariantCulture, $"""
        pos:	0
        flags:	02100002
        mnt_id:	24
        drm-driver:	amdgpu
        drm-client-id:	{client}
        drm-pdev:	{pdev}
        drm-memory-vram:	2048 KiB
        drm-engine-gfx:	{gfx} ns
        drm-engine-compute:	0 ns

        """);

    private static JsonElement? Process(JsonElement line, int pid) =>
        line.GetProperty("processes").EnumerateArray().Where(p => p.GetProperty("pid").GetInt32() == pid).Select(p => (JsonElement?)p).FirstOrDefault();

    private static double Gpu(JsonElement? consumer) => consumer is { } c ? c.GetProperty("gpu_energy_j").GetDouble() : 0;

}
