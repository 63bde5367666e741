using System.Globalization;
using System.Text.Json;
using OtelPower.Agent.Tests.Kubernetes;
using OtelPower.Agent.Tests.Prometheus;
using OtelPower.Deployment.Tests;
using OtelPower.Testing;

namespace OtelPower.Agent.Tests;

/// <summary>
/// The agent on a host with pods in two namespaces, names from a fake Kubernetes API server, scraped by a
/// real Prometheus: the article's questions (watts and watt-hours per namespace) and every dashboard query.
/// </summary>
public sealed class KubernetesEndToEndTests : IAsyncLifetime
{
    private const string ShopPod = "0d8b2c4e-1f3a-4b5c-9d7e-2a4b6c8d0e1f";
    private const string DataPod = "7a1e9c3b-5d2f-4e6a-8b0c-1d2e3f4a5b6c";
    private static readonly string ShopContainer = PodFixtures.Hex('a');
    private static readonly string DataContainer = PodFixtures.Hex('c');
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    private readonly TemporaryDirectory _directory = new();
    private FakeKubernetesApiServer _api = null!;

    // Per step: 12 J of host energy over 400 ticks (4 s of CPU); the shop container's cgroup counts 1 s
    // (3 J), the data container's 0.5 s (1.5 J), of which its only live process shows 0.25 s.
    private ulong _package = 5_000_000, _busy = 1_000, _total = 20_000, _shopUsec = 10_000_000, _dataUsec = 4_000_000, _dataTicks = 50;

    private static string Scope(string pod, string container) =>
        $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod.Replace('-', '_')}.slice/cri-containerd-{container}.scope";

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApiServer.StartAsync();
        _api.EnqueueList(PodFixtures.List(
            "100",
            PodFixtures.Pod("shop", "web-7d9f", ShopPod, "90", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "web" },
                [PodFixtures.Container("nginx", "containerd://" + ShopContainer)]),
            PodFixtures.Pod("data", "etl-0", DataPod, "91", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "etl" },
                [PodFixtures.Container("worker", "containerd://" + DataContainer)])));
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Namespaces_get_their_watts_and_watt_hours_and_every_dashboard_query_answers()
    {
        var tree = new SyntheticHostTree(_directory.Path);
        tree.WriteZone("intel-rapl:0", "package-0", _package);
        tree.WriteZone("intel-rapl:0:0", "dram", 0);
        tree.WriteCpu(_busy, _total - _busy, cpuCount: 4);
        tree.WriteProcess(300, "nginx", 100, startTicks: 30, cgroupPath: Scope(ShopPod, ShopContainer));
        tree.WriteProcess(400, "etl", _dataTicks, startTicks: 40, cgroupPath: Scope(DataPod, DataContainer));
        tree.WriteProcess(500, "sshd", 10, startTicks: 50, cgroupPath: "/system.slice/sshd.service");
        tree.WriteCgroupCpu(Scope(ShopPod, ShopContainer), _shopUsec);
        tree.WriteCgroupCpu(Scope(DataPod, DataContainer), _dataUsec);

        var kubeconfig = await _api.WriteKubeconfigAsync(_directory.Path);

        await using var agent = AgentProcess.Start(
        [
            "--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", tree.Cgroupfs, "--interval", "2",
            "--exporter", "prometheus,json", "--prometheus-port", "0",
            "--kubernetes", "--kubeconfig", kubeconfig, "--node-name", PodFixtures.Node, "--pod-label", "app.kubernetes.io/name",
            "--carbon-intensity", "400",
        ]);
        await using var prometheus = await PrometheusServer.StartAsync(await agent.PrometheusPortAsync(), scrapeInterval: "500ms");

        // Names arrive from the API; wait until a JSON line carries them and Prometheus has the pod counters at 0.
        JsonElement line;
        do
        {
            line = JsonDocument.Parse(await agent.ReadLineAsync(Wait)).RootElement.Clone();
        }
        while (!line.GetProperty("pods").EnumerateArray().Any(p => p.TryGetProperty("k8s_namespace_name", out _)));
        await prometheus.WaitForAsync(async () => (await prometheus.QueryAsync("otelpower_pod_energy_joules_total{k8s_namespace_name=\"shop\"}")).Count == 1, Wait, "shop's pod counter");

        const int Steps = 3;
        for (var step = 1; step <= Steps; step++)
        {
            Step(tree);
            line = await agent.ReadUntilHostEnergyAsync(12.0 * step, Wait); // the line whose interval holds this step
        }

        // Out of process, a sample may fall between two steps' files (the sampler resolves the tree's link on
        // each open), so exact per-interval joules are checked in-process (SamplingServiceTests); here only
        // what holds however the samples fall: names, and the same cumulative books in both exporters.
        var lastTime = DateTimeOffset.Parse(line.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds() / 1000.0;
        await prometheus.WaitForAsync(
            async () => (await prometheus.SamplesAsync("hw_host_energy_joules_total"))[^1].Time > lastTime + 0.2, Wait, "a scrape of the last interval");

        var watts = (await prometheus.QueryAsync("sum by (k8s_namespace_name) (otelpower_pod_power_watts)"))
            .ToDictionary(r => r.Labels["k8s_namespace_name"], r => r.Value);
        Assert.Equal(["data", "shop"], watts.Keys.Order(StringComparer.Ordinal));

        // Watt-hours per namespace from increase() of the energy counter: the JSON's cumulative pod joules (no
        // energy was produced after the last step, so every later snapshot carries the same totals).
        var samples = await prometheus.SamplesAsync("otelpower_pod_energy_joules_total{k8s_namespace_name=\"shop\"}");
        var first = samples.First(s => s.Value == 0).Time;
        var range = ((long)Math.Round((samples[^1].Time - first) * 1000)).ToString(CultureInfo.InvariantCulture) + "ms";
        var wattHours = (await prometheus.QueryAsync($"sum by (k8s_namespace_name) (increase(otelpower_pod_energy_joules_total[{range}])) / 3600", samples[^1].Time))
            .ToDictionary(r => r.Labels["k8s_namespace_name"], r => r.Value);
        var jsonPods = line.GetProperty("pods").EnumerateArray().ToDictionary(p => p.GetProperty("k8s_namespace_name").GetString()!, p => p.GetProperty("energy_j").GetDouble());
        Assert.True(jsonPods["shop"] > 0 && jsonPods["data"] > 0, "both namespaces were attributed energy");
        Assert.True(jsonPods["shop"] + jsonPods["data"] <= Steps * 12.0 + 1e-9, "pods cannot hold more than the host produced");
        Assert.Equal(jsonPods["shop"] / 3600, wattHours["shop"], 1e-9);
        Assert.Equal(jsonPods["data"] / 3600, wattHours["data"], 1e-9);

        // Grams of CO2e per namespace from the dashboard's panel over the same range: the joules in kWh
        // times the node's --carbon-intensity 400 gCO2e/kWh.
        var gramsPanel = DashboardQueries.Load().Single(q => q.Expression.Contains("otelpower_grid_carbon_intensity", StringComparison.Ordinal));
        var grams = (await prometheus.QueryAsync(DashboardQueries.ForPrometheus(gramsPanel.Expression.Replace("[$__range]", $"[{range}]", StringComparison.Ordinal), TimeSpan.FromMinutes(5)), samples[^1].Time))
            .ToDictionary(r => r.Labels["k8s_namespace_name"], r => r.Value);
        Assert.Equal(jsonPods["shop"] / 3.6e6 * 400, grams["shop"], 1e-12);
        Assert.Equal(jsonPods["data"] / 3.6e6 * 400, grams["data"], 1e-12);

        // The JSON carries the books with names.
        var data = line.GetProperty("containers").EnumerateArray().Single(c => c.GetProperty("container_id").GetString() == DataContainer);
        Assert.Equal("data", data.GetProperty("k8s_namespace_name").GetString());
        Assert.Equal("etl-0", data.GetProperty("k8s_pod_name").GetString());
        Assert.Equal("worker", data.GetProperty("k8s_container_name").GetString());
        Assert.Equal(DataPod, data.GetProperty("k8s_pod_uid").GetString());
        var etl = line.GetProperty("processes").EnumerateArray().Single(p => p.GetProperty("pid").GetInt32() == 400);
        Assert.Equal("data", etl.GetProperty("k8s_namespace_name").GetString());

        // Process and container series carry the pod's attributes and the selected label.
        var nginx = await prometheus.QueryAsync("otelpower_process_energy_joules_total{process_pid=\"300\"}");
        Assert.Equal("web-7d9f", Assert.Single(nginx).Labels["k8s_pod_name"]);
        var container = Assert.Single(await prometheus.QueryAsync($"otelpower_container_energy_joules_total{{container_id=\"{ShopContainer}\"}}"));
        Assert.Equal("nginx", container.Labels["k8s_container_name"]);
        Assert.Equal("web", container.Labels["k8s_pod_label_app_kubernetes_io_name"]);

        // Every PromQL expression of the Grafana dashboard runs and returns data; this host has no GPU, no VM
        // and no platform meter, so those panels are run by the GPU, VM and meters' end-to-end tests.
        var queries = DashboardQueries.Load()
            .Where(q => !q.Expression.Contains("hw_type=\"gpu\"", StringComparison.Ordinal)
                && !q.Expression.Contains("otelpower_vm_", StringComparison.Ordinal)
                && !q.Expression.Contains("otelpower_platform_", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(queries);
        foreach (var query in queries)
        {
            var promql = DashboardQueries.ForPrometheus(query.Expression, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10));
            var result = await prometheus.QueryAsync(promql);
            Assert.True(result.Count > 0, $"dashboard panel '{query.PanelTitle}' ({query.RefId}) returned nothing: {promql}");
        }
    }

    private void Step(SyntheticHostTree tree)
    {
        tree.BeginStep();
        tree.WriteEnergy("intel-rapl:0", _package += 12_000_000);
        _total += 400;
        _busy += 175;
        tree.WriteCpu(_busy, _total - _busy, cpuCount: 4);
        tree.WriteCgroupCpu(Scope(ShopPod, ShopContainer), _shopUsec += 1_000_000);
        tree.WriteCgroupCpu(Scope(DataPod, DataContainer), _dataUsec += 500_000);
        tree.WriteProcess(300, "nginx", 100 + (ulong)(_total - 20_000) / 4, startTicks: 30);
        tree.WriteProcess(400, "etl", _dataTicks += 25, startTicks: 40);
        tree.CommitStep();
    }
}
