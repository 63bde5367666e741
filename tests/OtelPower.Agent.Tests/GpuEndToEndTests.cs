using System.Globalization;
using System.Text.Json;
using OpenTelemetry.Proto.Metrics.V1;
using OtelPower.Testing;
using OtelPower.Agent.Tests.Kubernetes;
using OtelPower.Agent.Tests.Otlp;
using OtelPower.Agent.Tests.Prometheus;
using OtelPower.Deployment.Tests;
using OtelPower.Sensors.Tests.Gpu;

namespace OtelPower.Agent.Tests;

/// <summary>
/// The built agent with the stand-in NVML on a fixture host: two GPUs (one with an energy counter, one
/// integrated from power), GPU processes in two pods and on the host, scraped by a real Prometheus. The
/// fake's samples are stamped at each call (<c>ts=now</c>), so every share below holds whatever the
/// agent's timing; exact per-interval checks are the engine's and the reader's tests.
/// </summary>
public sealed class GpuEndToEndTests : IDisposable
{
    private const string TrainPod = "5c1d2e3f-0a1b-4c2d-8e3f-4a5b6c7d8e9f";
    private const string NotebookPod = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
    private const string Gpu0 = "GPU-0a0a0a0a-1111-2222-3333-444444444444";
    private const string Gpu1 = "GPU-1b1b1b1b-5555-6666-7777-888888888888";
    private const double Gpu0JoulesPerStep = 120.0;
    private static readonly string TrainContainer = PodFixtures.Hex('d');
    private static readonly string NotebookContainer = PodFixtures.Hex('e');
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    private readonly TemporaryDirectory _directory = new();
    private readonly FakeNvml _nvml;
    private ulong _gpu0Millijoules = 7_000_000;

    public GpuEndToEndTests()
    {
        _nvml = new FakeNvml(Script());
    }

    public void Dispose()
    {
        _nvml.Dispose();
        _directory.Dispose();
    }

    private static string Scope(string pod, string container) =>
        $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod.Replace('-', '_')}.slice/cri-containerd-{container}.scope";

    // GPU 0 (energy counter): the trainer 50 %, the notebook 25 %, a host process 10 %, 15 % idle.
    // GPU 1 (no counter, 200 W integrated): a host process that never uses a CPU, 40 %.
    private string Script() => string.Create(CultureInfo.InvariantCulture, $"""
        driver 550.54.15
        gpu 0 uuid={Gpu0} name="NVIDIA H100 80GB HBM3" energy_mj={_gpu0Millijoules} power_mw=300000 util=85 mem_used=8000000000 mem_total=85899345920
        gpu 1 uuid={Gpu1} name="Tesla P100-PCIE-16GB" counter=0 power_mw=200000 util=40 stride=32
        proc 0 pid=300
        proc 0 pid=400
        proc 0 pid=500 kind=graphics
        proc 1 pid=600
        sample 0 pid=300 ts=now sm=50
        sample 0 pid=400 ts=now sm=25
        sample 0 pid=500 ts=now sm=10
        sample 1 pid=600 ts=now sm=40
        """);

    private SyntheticHostTree Host()
    {
        var tree = new SyntheticHostTree(_directory.Path);
        tree.WriteZone("intel-rapl:0", "package-0", 1_000_000);
        tree.WriteCpu(1_000, 19_000, cpuCount: 4);
        tree.WriteProcess(300, "trainer", 100, startTicks: 30, cgroupPath: Scope(TrainPod, TrainContainer));
        tree.WriteProcess(400, "jupyter", 100, startTicks: 40, cgroupPath: Scope(NotebookPod, NotebookContainer));
        tree.WriteProcess(500, "Xorg", 100, startTicks: 50, cgroupPath: "/system.slice/display.service");
        tree.WriteProcess(600, "cuda-idle", 0, startTicks: 60, cgroupPath: "/system.slice/batch.service");
        tree.WriteCgroupCpu(Scope(TrainPod, TrainContainer), 1_000_000);
        tree.WriteCgroupCpu(Scope(NotebookPod, NotebookContainer), 1_000_000);
        return tree;
    }

    [Fact]
    public async Task Gpu_joules_per_process_container_and_pod_follow_sm_shares_and_every_gpu_conserves()
    {
        var tree = Host();
        await using var agent = AgentProcess.Start(
        [
            "--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", tree.Cgroupfs, "--interval", "0.5",
            "--exporter", "json,prometheus", "--prometheus-port", "0",
            "--nvml-library", _nvml.LibraryPath, "--container-engines", "",
        ]);
        await using var prometheus = await PrometheusServer.StartAsync(await agent.PrometheusPortAsync(), scrapeInterval: "500ms");
        await prometheus.WaitForAsync(async () => (await prometheus.QueryAsync("hw_energy_joules_total{hw_type=\"gpu\"}")).Count == 2, Wait, "both GPUs' counters");

        const int Steps = 3;
        JsonElement line = default;
        for (var step = 1; step <= Steps; step++)
        {
            _gpu0Millijoules += (ulong)(Gpu0JoulesPerStep * 1000);
            _nvml.Script(Script());
            line = await ReadUntilGpuEnergyAsync(agent, Gpu0, Gpu0JoulesPerStep * step);
            AssertConserves(line);
        }

        var gpus = line.GetProperty("gpus").EnumerateArray().ToDictionary(g => g.GetProperty("uuid").GetString()!);
        Assert.Equal(["gpu-0", "gpu-1"], gpus.Values.Select(g => g.GetProperty("name").GetString()).Order());
        Assert.Equal("counter", gpus[Gpu0].GetProperty("source").GetString());
        Assert.Equal("power", gpus[Gpu1].GetProperty("source").GetString());
        Assert.Equal("NVIDIA H100 80GB HBM3", gpus[Gpu0].GetProperty("model").GetString());

        // GPU 0: every joule of its counter, split by SM share; floors of whole microjoules per interval.
        const double Total = Steps * Gpu0JoulesPerStep;
        var tolerance = 1e-6 * line.GetProperty("gpus").GetArrayLength() * 100;
        Assert.Equal(Total, gpus[Gpu0].GetProperty("energy_j").GetDouble(), 1e-9);
        Assert.Equal(0.15 * Total, gpus[Gpu0].GetProperty("idle_energy_j").GetDouble(), tolerance);
        var processes = line.GetProperty("processes").EnumerateArray().ToDictionary(p => p.GetProperty("pid").GetInt32());
        Assert.Equal(0.50 * Total, Gpu(processes[300]), tolerance);
        Assert.Equal(0.25 * Total, Gpu(processes[400]), tolerance);
        Assert.Equal(0.10 * Total, Gpu(processes[500]), tolerance);

        // GPU 1 has no counter: its energy is integrated from 200 W; the one process that uses it, and
        // never a CPU, is listed with 40 % of it.
        var gpu1 = gpus[Gpu1].GetProperty("energy_j").GetDouble();
        Assert.True(gpu1 > 0);
        Assert.Equal(0.40 * gpu1, Gpu(processes[600]), 1e-3);
        Assert.Equal(0.0, processes[600].GetProperty("energy_j").GetDouble());
        Assert.Equal(0.0, processes[600].GetProperty("cpu_s").GetDouble());

        // Containers and pods get their processes' GPU joules; energy_j stays the CPU pool's.
        var pods = line.GetProperty("pods").EnumerateArray().ToDictionary(p => p.GetProperty("k8s_pod_uid").GetString()!);
        Assert.Equal(Gpu(processes[300]), Gpu(pods[TrainPod]), 1e-9);
        Assert.Equal(Gpu(processes[400]), Gpu(pods[NotebookPod]), 1e-9);
        var containers = line.GetProperty("containers").EnumerateArray().ToDictionary(c => c.GetProperty("container_id").GetString()!);
        Assert.Equal(Gpu(processes[300]), Gpu(containers[TrainContainer]), 1e-9);

        // Prometheus: the same books, hw.type splits a pod's energy, and every GPU dashboard query answers.
        var lastTime = DateTimeOffset.Parse(line.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds() / 1000.0;
        await prometheus.WaitForAsync(
            async () => (await prometheus.SamplesAsync("hw_host_energy_joules_total"))[^1].Time > lastTime + 0.2, Wait, "a scrape of the last interval");
        var gpuDevices = await prometheus.QueryAsync("hw_energy_joules_total{hw_type=\"gpu\"}");
        var device0 = gpuDevices.Single(r => r.Labels["hw_id"] == Gpu0);
        Assert.Equal(Total, device0.Value, 1e-9);
        Assert.Equal("gpu-0", device0.Labels["hw_name"]);
        Assert.Equal("nvidia", device0.Labels["hw_vendor"]);
        Assert.Equal("NVIDIA H100 80GB HBM3", device0.Labels["hw_model"]);
        var podGpu = await prometheus.QueryAsync($"otelpower_pod_energy_joules_total{{hw_type=\"gpu\", k8s_pod_uid=\"{TrainPod}\"}}");
        Assert.Equal(Gpu(pods[TrainPod]), Assert.Single(podGpu).Value, 1e-9);
        var podCpu = await prometheus.QueryAsync($"otelpower_pod_energy_joules_total{{hw_type=\"cpu\", k8s_pod_uid=\"{TrainPod}\"}}");
        Assert.Single(podCpu);
        var idle0 = await prometheus.QueryAsync($"otelpower_idle_energy_joules_total{{hw_type=\"gpu\", hw_id=\"{Gpu0}\"}}");
        Assert.Equal(0.15 * Total, Assert.Single(idle0).Value, tolerance);
        Assert.Equal(0.85, (await prometheus.QueryAsync($"hw_gpu_utilization{{hw_id=\"{Gpu0}\"}}")).Single().Value, 1e-9);

        foreach (var query in DashboardQueries.Load().Where(q => q.Expression.Contains("hw_type=\"gpu\"", StringComparison.Ordinal)))
        {
            var promql = DashboardQueries.ForPrometheus(query.Expression, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10));
            var result = await prometheus.QueryAsync(promql);
            Assert.True(result.Count > 0, $"dashboard panel '{query.PanelTitle}' ({query.RefId}) returned nothing: {promql}");
        }

        Assert.Contains("Reading 2 NVIDIA GPUs", agent.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Otlp_carries_each_gpu_as_a_hw_device_and_gpu_joules_per_pod_as_monotonic_sums()
    {
        var tree = Host();
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var agent = AgentProcess.Start(
            [
                "--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", tree.Cgroupfs, "--interval", "0.5",
                "--exporter", "otlp,json", "--otlp-endpoint", receiver.GrpcEndpoint,
                "--nvml-library", _nvml.LibraryPath, "--container-engines", "",
            ],
            new Dictionary<string, string> { ["OTEL_METRIC_EXPORT_INTERVAL"] = "300" });
        await agent.ReadLineAsync(Wait); // the first interval is closed: the baseline was read before any step

        const int Steps = 2;
        JsonElement line = default;
        for (var step = 1; step <= Steps; step++)
        {
            _gpu0Millijoules += (ulong)(Gpu0JoulesPerStep * 1000);
            _nvml.Script(Script());
            line = await ReadUntilGpuEnergyAsync(agent, Gpu0, Gpu0JoulesPerStep * step);
        }

        const double Total = Steps * Gpu0JoulesPerStep;
        var trainPod = line.GetProperty("pods").EnumerateArray().Single(p => p.GetProperty("k8s_pod_uid").GetString() == TrainPod);
        await receiver.WaitForAsync(
            r => r.Points("hw.energy").LastOrDefault(p => p.Attribute("hw.id") == Gpu0)?.Value == Total
                && r.Points("otelpower.pod.energy").LastOrDefault(p => p.Attribute("hw.type") == "gpu" && p.Attribute("k8s.pod.uid") == TrainPod)?.Value == Gpu(trainPod),
            Wait,
            "GPU 0's joules and the trainer pod's GPU joules");

        var device = receiver.Points("hw.energy").Last(p => p.Attribute("hw.id") == Gpu0);
        Assert.Equal(Metric.DataOneofCase.Sum, device.Metric.DataCase);
        Assert.True(device.Metric.Sum.IsMonotonic);
        Assert.Equal("J", device.Metric.Unit);
        Assert.Equal("gpu", device.Attribute("hw.type"));
        Assert.Equal("gpu-0", device.Attribute("hw.name"));
        Assert.Equal("nvidia", device.Attribute("hw.vendor"));
        Assert.Equal("NVIDIA H100 80GB HBM3", device.Attribute("hw.model"));
        Assert.Equal("W", receiver.Points("hw.power").Last(p => p.Attribute("hw.id") == Gpu0).Metric.Unit);
        Assert.Equal(0.85, receiver.Points("hw.gpu.utilization").Last(p => p.Attribute("hw.id") == Gpu0).Value, 1e-9);
        Assert.Equal(8e9, receiver.Points("hw.gpu.memory.usage").Last(p => p.Attribute("hw.id") == Gpu0).Value);

        // The pod's GPU series only grows, and it is a series of its own beside the pod's CPU series.
        var podGpu = receiver.Points("otelpower.pod.energy").Where(p => p.Attribute("hw.type") == "gpu" && p.Attribute("k8s.pod.uid") == TrainPod).Select(p => p.Value).ToList();
        Assert.Equal(podGpu.Order(), podGpu);
        Assert.Equal(0.5 * Total, podGpu[^1], 1e-4);
        // GPU 1 has no energy counter, so the node's GPU consumer series say their joules are partly integrated power.
        Assert.Equal("nvml-power", receiver.Points("otelpower.pod.energy").Last(p => p.Attribute("hw.type") == "gpu").Attribute("otelpower.source"));
        Assert.Contains(receiver.Points("otelpower.pod.energy"), p => p.Attribute("hw.type") == "cpu" && p.Attribute("k8s.pod.uid") == TrainPod);
        Assert.Equal(0.15 * Total, receiver.Points("otelpower.idle.energy").Last(p => p.Attribute("hw.id") == Gpu0).Value, 1e-4);
    }

    [Fact]
    public async Task A_host_without_the_nvml_library_runs_as_before_and_says_so_once()
    {
        var tree = Host();
        var missing = Path.Combine(_directory.Path, "no-driver", "libnvidia-ml.so.1");

        var (exitCode, stdout, stderr) = await AgentProcess.RunAsync(
            "--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", tree.Cgroupfs, "--interval", "0.1",
            "--exporter", "json", "--samples", "2", "--nvml-library", missing, "--container-engines", "");

        Assert.Equal(0, exitCode);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, l => Assert.Equal(0, l.GetProperty("gpus").GetArrayLength()));
        var noGpu = stderr.Split('\n').Where(l => l.Contains("No NVIDIA driver/library", StringComparison.Ordinal)).ToList();
        Assert.Contains(missing, Assert.Single(noGpu), StringComparison.Ordinal);
        Assert.DoesNotContain(" fail:", stderr, StringComparison.Ordinal);
    }

    private static double Gpu(JsonElement consumer) => consumer.GetProperty("gpu_energy_j").GetDouble();

    /// <summary>Per GPU, the processes' shares and its idle add up to its energy (the shares of both GPUs, summed).</summary>
    private static void AssertConserves(JsonElement line)
    {
        var gpuEnergy = line.GetProperty("gpus").EnumerateArray().Sum(g => g.GetProperty("energy_j").GetDouble());
        var gpuIdle = line.GetProperty("gpus").EnumerateArray().Sum(g => g.GetProperty("idle_energy_j").GetDouble());
        var processes = line.GetProperty("processes").EnumerateArray().Sum(Gpu);
        Assert.Equal(gpuEnergy, processes + gpuIdle, 1e-6);
    }

    private static Task<JsonElement> ReadUntilGpuEnergyAsync(AgentProcess agent, string uuid, double joules) =>
        agent.ReadUntilAsync(
            line => line.GetProperty("gpus").EnumerateArray().Any(g => g.GetProperty("uuid").GetString() == uuid && Math.Abs(g.GetProperty("energy_j").GetDouble() - joules) < 1e-9),
            $"reported {joules} J on {uuid}",
            Wait);
}
