using System.Globalization;
using OtelPower.Agent.Tests.Kubernetes;
using OtelPower.Agent.Tests.Prometheus;
using OtelPower.Testing;

namespace OtelPower.Agent.Tests;

/// <summary>
/// Issue 12's outcome, as a cluster operator sees it: batch pods on a node sampled every second and scraped by a
/// real Prometheus, with a container whose id reaches the API seconds after its cgroup starts burning and a pod
/// that lives 2.5 s. The per-namespace joules a dashboard computes from the scraped counters (each series' last
/// minus first sample, summed) must be within 2 % of what the fixture's counters say each namespace used.
/// </summary>
/// <remarks>
/// The tree is stepped right after the agent reports a sample, so each sample reads whole steps. Each step is
/// 12 J over 4 s of host CPU: 3 J per CPU second. Every pod's CPU time is written before the last sample that sees
/// its cgroup, so all of it is observable; CPU time a container spends after the last sample before its cgroup
/// is removed is a limit the README states.
/// </remarks>
public sealed class ShortLivedPodsEndToEndTests : IAsyncLifetime
{
    private const string WebPod = "11111111-2222-4333-8444-555555555555";
    private const string LatePod = "66666666-7777-4888-9999-aaaaaaaaaaaa";
    private const string ShortPod = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff";
    private static readonly string WebContainer = PodFixtures.Hex('1');
    private static readonly string LateContainer = PodFixtures.Hex('6');
    private static readonly string ShortContainer = PodFixtures.Hex('b');
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    private readonly TemporaryDirectory _directory = new();
    private readonly TaskCompletionSource _lateIdArrives = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private FakeKubernetesApiServer _api = null!;

    private static string Scope(string pod, string container) =>
        $"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{pod.Replace('-', '_')}.slice/cri-containerd-{container}.scope";

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApiServer.StartAsync();

        // The API lists all three pods at once; the batch pods' containers have no id yet (ContainerCreating).
        _api.EnqueueList(PodFixtures.List(
            "100",
            PodFixtures.Pod("shop", "web-0", WebPod, "90", containers: [PodFixtures.Container("web", "containerd://" + WebContainer)]),
            PodFixtures.Pod("batch", "reindex-x7k2p", LatePod, "91", containers: [PodFixtures.Container("reindex", null)]),
            PodFixtures.Pod("jobs", "thumbnail-q9z", ShortPod, "92", containers: [PodFixtures.Container("thumbnail", null)])));

        // The late container's id arrives on the watch when the test says so, seconds after its cgroup burns.
        _api.EnqueueWatch(async (response, ended) =>
        {
            await response.StartAsync(ended);
            await _lateIdArrives.Task.WaitAsync(ended);
            await FakeKubernetesApiServer.WriteLineAsync(response, FakeKubernetesApiServer.Event(
                "MODIFIED",
                PodFixtures.Pod("batch", "reindex-x7k2p", LatePod, "101", containers: [PodFixtures.Container("reindex", "containerd://" + LateContainer)])));
            await FakeKubernetesApiServer.HoldOpenAsync(ended);
        });
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Per_namespace_joules_from_the_scraped_counters_are_within_two_percent_of_the_truth()
    {
        var tree = new SyntheticHostTree(_directory.Path);
        ulong package = 5_000_000, busy = 1_000, total = 20_000, web = 10_000_000;
        tree.WriteZone("intel-rapl:0", "package-0", package);
        tree.WriteCpu(busy, total - busy, cpuCount: 4);
        tree.WriteCgroupCpu(Scope(WebPod, WebContainer), web);
        tree.WriteProcess(500, "sshd", 10, startTicks: 50, cgroupPath: "/system.slice/sshd.service");

        var kubeconfig = await _api.WriteKubeconfigAsync(_directory.Path);

        await using var agent = AgentProcess.Start(
        [
            "--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", tree.Cgroupfs, "--interval", "1",
            "--exporter", "prometheus,json", "--prometheus-port", "0",
            "--kubernetes", "--kubeconfig", kubeconfig, "--node-name", PodFixtures.Node, "--container-engines", "",
        ]);
        await using var prometheus = await PrometheusServer.StartAsync(await agent.PrometheusPortAsync(), scrapeInterval: "500ms");

        // Pods the API lists are exported at 0 J before any of their containers has a cgroup.
        await prometheus.WaitForAsync(
            async () => (await prometheus.QueryAsync("otelpower_pod_energy_joules_total{hw_type=\"cpu\",k8s_namespace_name=~\"batch|jobs\"} == 0")).Count == 2,
            Wait,
            "the listed batch pods at 0 J before their cgroups exist");
        await agent.ReadUntilHostEnergyAsync(0, Wait);

        // CPU seconds each namespace's cgroups use in each step (3 J each); the batch pods appear between samples.
        (double Shop, double Batch, double Jobs)[] plan =
        [
            (1.0, 0.8, 0.0), // the batch container starts burning; its id is not in the API yet
            (1.0, 1.0, 1.0), // the 2.5 s pod starts
            (1.0, 1.0, 1.0),
            (1.0, 1.0, 0.0), // the late id arrives; the 2.5 s pod is gone 0.5 s after this step's sample
            (1.0, 1.0, 0.0),
            (1.0, 0.0, 0.0), // the batch container has finished; its cgroup is removed in the next step
            (1.0, 0.0, 0.0),
        ];
        double lateUsed = 0, shortUsed = 0;
        for (var step = 0; step < plan.Length; step++)
        {
            var (shop, batch, jobs) = plan[step];
            tree.BeginStep();
            tree.WriteEnergy("intel-rapl:0", package += 12_000_000);
            total += 400;
            busy += 300;
            tree.WriteCpu(busy, total - busy, cpuCount: 4);
            tree.WriteCgroupCpu(Scope(WebPod, WebContainer), web += (ulong)(shop * 1e6));
            if (step <= 5)
            {
                tree.WriteCgroupCpu(Scope(LatePod, LateContainer), (ulong)((lateUsed += batch) * 1e6));
            }
            else
            {
                tree.RemoveCgroup(Scope(LatePod, LateContainer));
            }

            if (step is 1 or 2)
            {
                tree.WriteCgroupCpu(Scope(ShortPod, ShortContainer), (ulong)((shortUsed += jobs) * 1e6));
            }

            tree.CommitStep();
            await agent.ReadUntilHostEnergyAsync(12.0 * (step + 1), Wait);
            if (step == 2)
            {
                await Task.Delay(500); // the 2.5 s pod exits half an interval after its last sample
                tree.BeginStep();
                tree.RemoveCgroup(Scope(ShortPod, ShortContainer));
                tree.CommitStep();
                _lateIdArrives.SetResult();
            }
        }

        // A scrape after the last sample, and after each gone pod's final export.
        await prometheus.WaitForAsync(
            async () => (await prometheus.QueryAsync("hw_host_energy_joules_total")).SingleOrDefault().Value >= 12.0 * plan.Length - 1e-9,
            Wait,
            "the last interval scraped");
        await Task.Delay(1_500);

        var truth = new Dictionary<string, double>
        {
            ["shop"] = 3.0 * plan.Sum(p => p.Shop),
            ["batch"] = 3.0 * plan.Sum(p => p.Batch),
            ["jobs"] = 3.0 * plan.Sum(p => p.Jobs),
        };
        var series = await prometheus.AllSamplesAsync("otelpower_pod_energy_joules_total{hw_type=\"cpu\"}", "10m");
        var described = string.Join("\n", series.Select(s => string.Join(",", s.Labels.Where(l => l.Key.StartsWith("k8s", StringComparison.Ordinal)).Select(l => l.Key + "=" + l.Value))
            + ": " + string.Join(" ", s.Samples.Select(v => v.Value.ToString("0.###", CultureInfo.InvariantCulture)))));

        // Before the API's first answer the web pod (already burning) is named by its UID only, at 0 J; no joules
        // stay on such a series once the names arrive.
        Assert.All(series.Where(s => !s.Labels.ContainsKey("k8s_namespace_name")), s => Assert.Equal(0.0, s.Samples[^1].Value - s.Samples[0].Value));
        var dashboard = series
            .Where(s => s.Labels.ContainsKey("k8s_namespace_name"))
            .GroupBy(s => s.Labels["k8s_namespace_name"])
            .ToDictionary(g => g.Key, g => g.Sum(s => s.Samples[^1].Value - s.Samples[0].Value));
        foreach (var (ns, joules) in truth)
        {
            Assert.True(dashboard.ContainsKey(ns), $"no pod series for namespace {ns}");
            Assert.True(Math.Abs(dashboard[ns] - joules) <= 0.02 * joules, $"{ns}: the dashboard computes {dashboard[ns]} J, the truth is {joules} J; series:\n{described}");
        }

        // One series per pod: the late id and the container name did not start a second one.
        var batchSeries = Assert.Single(series, s => s.Labels.GetValueOrDefault("k8s_namespace_name") == "batch");
        Assert.Equal("reindex-x7k2p", batchSeries.Labels["k8s_pod_name"]);
        Assert.Equal(LatePod, batchSeries.Labels["k8s_pod_uid"]);
        Assert.Single(series, s => s.Labels.GetValueOrDefault("k8s_namespace_name") == "jobs");
        Assert.Equal(0.0, batchSeries.Samples[0].Value);

        // The container name followed the id onto the container's series.
        var lateContainer = await prometheus.AllSamplesAsync($"otelpower_container_energy_joules_total{{container_id=\"{LateContainer}\",hw_type=\"cpu\"}}", "10m");
        Assert.Contains(lateContainer, s => s.Labels.TryGetValue("k8s_container_name", out var name) && name == "reindex");
    }
}
