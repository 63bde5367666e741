using System.Globalization;
using System.Text.Json;
using OtelPower.Testing;
using OtelPower.Agent.Tests.Prometheus;
using OtelPower.Deployment.Tests;

namespace OtelPower.Agent.Tests;

/// <summary>
/// The built agent on a fixture hypervisor: a libvirt domain under systemd (escaped scope name, emulator and
/// vcpu cgroups) and a hand-started qemu-kvm. It reports both VMs and writes their virtual powercap trees; a
/// guest agent on another fixture host reads one tree with --powercap; a reader polls the counter all along;
/// the hypervisor's agent is killed and started again. Each step is one atomic change of the fixture, so
/// every cumulative figure below is exact whatever the agents' timing.
/// </summary>
public sealed class VmEndToEndTests : IDisposable
{
    private const string Uuid = "6f1b0c2e-0d6a-4b8e-9a55-1c3f2e4d5a6b";
    private const string WebScope = @"/machine.slice/machine-qemu\x2d1\x2dweb\x2d01.scope";
    private const double HostJoulesPerStep = 40.0;
    private const double WebJoulesPerStep = 10.0; // 1 s of the host's 4 s of CPU time per step
    private const double DbJoulesPerStep = 5.0; // 0.5 s
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    private readonly TemporaryDirectory _directory = new();
    private int _steps;

    public void Dispose() => _directory.Dispose();

    private string VmPowercap => Path.Combine(_directory.Path, "vm-powercap");

    private SyntheticHostTree Hypervisor()
    {
        var tree = new SyntheticHostTree(Path.Combine(_directory.Path, "hypervisor"));
        Write(tree);
        return tree;
    }

    private void Write(SyntheticHostTree tree)
    {
        var step = (ulong)_steps;
        tree.WriteZone("intel-rapl:0", "package-0", 1_000_000 + (step * (ulong)(HostJoulesPerStep * 1e6)));
        tree.WriteCpu(1_000 + (step * 100), 19_000 + (step * 300), cpuCount: 4);
        tree.WriteProcess(
            3000, "qemu-system-x86", 1_000 + (step * 60), startTicks: 300,
            commandLine: $"/usr/bin/qemu-system-x86_64 -name guest=web-01,debug-threads=on -uuid {Uuid} -object secret,id=masterKey0,data=hunter2",
            cgroupPath: WebScope + "/libvirt/emulator");
        tree.WriteCgroupCpu(WebScope, 50_000_000 + (step * 1_000_000)); // vcpus, emulator and vhost threads
        tree.WriteCgroupCpu(WebScope + "/libvirt/emulator", 10_000_000 + (step * 100_000));
        tree.WriteCgroupCpu(WebScope + "/libvirt/vcpu0", 40_000_000 + (step * 900_000));
        tree.WriteProcess(
            3100, "qemu-kvm", 2_000 + (step * 50), startTicks: 310,
            commandLine: "/usr/libexec/qemu-kvm -name db -m 2048", cgroupPath: "/user.slice/user-1000.slice/session-4.scope");
        tree.WriteProcess(1, "systemd", 500, startTicks: 1, parentPid: 0, cgroupPath: "/init.scope");
    }

    private void Step(SyntheticHostTree tree)
    {
        tree.BeginStep();
        _steps++;
        Write(tree);
        tree.CommitStep();
    }

    private static SyntheticHostTree Guest(string root)
    {
        var tree = new SyntheticHostTree(root);
        tree.WriteCpu(100, 900, cpuCount: 2);
        tree.WriteProcess(1, "systemd", 10, startTicks: 1, parentPid: 0, cgroupPath: "/init.scope");
        tree.WriteProcess(200, "nginx", 10, startTicks: 20, cgroupPath: "/system.slice/nginx.service");
        return tree;
    }

    private AgentProcess StartHypervisorAgent(SyntheticHostTree tree) => AgentProcess.Start(
    [
        "--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", tree.Cgroupfs, "--interval", "0.1",
        "--exporter", "json,prometheus", "--prometheus-port", "0",
        "--vm-powercap", VmPowercap, "--nvml-library", "", "--container-engines", "",
    ]);

    /// <summary>The tree's writer runs on its own task, a snapshot behind the JSON line at most: wait for it.</summary>
    private async Task CounterReachesAsync(string vm, ulong microjoules)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (Counter(vm) != microjoules && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(microjoules, Counter(vm));
    }

    private ulong Counter(string vm) => ulong.Parse(
        File.ReadAllText(Path.Combine(VmPowercap, vm, "intel-rapl:0", "energy_uj")), NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture);

    [Fact]
    public async Task Vms_are_reported_their_trees_feed_a_guest_and_every_counter_survives_a_restarted_agent()
    {
        var hypervisor = Hypervisor();
        var agent = StartHypervisorAgent(hypervisor);
        try
        {
            await agent.ReadLineAsync(Wait); // the baseline is taken
            var counterFile = Path.Combine(VmPowercap, "web-01", "intel-rapl:0", "energy_uj");
            await agent.ReadLineAsync(Wait);

            // Each writer takes snapshots on its own task, so the trees may land just after the JSON line.
            var deadline = DateTime.UtcNow + Wait;
            while (!(File.Exists(counterFile) && File.Exists(Path.Combine(VmPowercap, "db", "intel-rapl:0", "energy_uj"))) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.True(File.Exists(counterFile), agent.StandardError);
            Assert.True(File.Exists(Path.Combine(VmPowercap, "db", "intel-rapl:0", "energy_uj")));

            // A reader polling the counter the whole time, the way a guest's agent or Scaphandre would.
            using var stopPolling = new CancellationTokenSource();
            var reads = 0;
            var poller = Task.Run(() =>
            {
                ulong last = 0;
                while (!stopPolling.IsCancellationRequested || reads < 5_000)
                {
                    var text = File.ReadAllText(counterFile);
                    var parsed = ulong.TryParse(text, NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out var value);
                    Assert.True(parsed && text.EndsWith('\n'), $"torn read: '{text}'");
                    Assert.True(value >= last, $"the counter went back from {last} to {value}");
                    last = value;
                    reads++;
                }
            });

            // The guest: another host whose powercap is the VM's tree.
            var guestTree = Guest(Path.Combine(_directory.Path, "guest"));
            await using var guest = AgentProcess.Start(
            [
                "--procfs", guestTree.Procfs, "--sysfs", guestTree.Sysfs, "--cgroupfs", "", "--interval", "0.1",
                "--powercap", Path.Combine(VmPowercap, "web-01"), "--exporter", "json,prometheus",
                "--prometheus-port", "0", "--nvml-library", "", "--container-engines", "",
            ]);
            var guestFirst = JsonDocument.Parse(await guest.ReadLineAsync(Wait)).RootElement.Clone();
            Assert.Equal("hypervisor", guestFirst.GetProperty("source").GetString());

            const int Steps = 4;
            JsonElement line = default;
            for (var i = 1; i <= Steps; i++)
            {
                Step(hypervisor);
                line = await agent.ReadUntilHostEnergyAsync(HostJoulesPerStep * i, Wait);
            }

            var vms = line.GetProperty("vms").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!);
            Assert.Equal(["db", "web-01"], vms.Keys.Order(StringComparer.Ordinal));
            var web = vms["web-01"];
            Assert.Equal(Uuid, web.GetProperty("uuid").GetString());
            Assert.Equal(3000, web.GetProperty("pid").GetInt32());
            Assert.Equal(WebScope, web.GetProperty("cgroup").GetString());
            // Out of process a sample can read half a step (CPU time and energy apart), so the split is only
            // bounded here; the exact split is the engine's tests'. Below, every copy must equal these joules.
            var webMicrojoules = (ulong)Math.Round(web.GetProperty("energy_j").GetDouble() * 1e6);
            Assert.InRange(webMicrojoules, 1UL, (ulong)(Steps * HostJoulesPerStep * 1e6));
            Assert.Equal(0.0, web.GetProperty("gpu_energy_j").GetDouble());
            var db = vms["db"];
            Assert.Equal(JsonValueKind.Null, db.GetProperty("uuid").ValueKind);
            Assert.Equal(JsonValueKind.Null, db.GetProperty("cgroup").ValueKind);
            Assert.Equal(3100, db.GetProperty("pid").GetInt32());
            var dbMicrojoules = (ulong)Math.Round(db.GetProperty("energy_j").GetDouble() * 1e6);
            Assert.InRange(dbMicrojoules, 1UL, (ulong)(Steps * HostJoulesPerStep * 1e6) - webMicrojoules);
            Assert.DoesNotContain("hunter2", line.GetRawText(), StringComparison.Ordinal); // qemu's arguments are never exported

            // The trees hold the same joules, in microjoules.
            await agent.ReadLineAsync(Wait);
            await CounterReachesAsync("web-01", webMicrojoules);
            await CounterReachesAsync("db", dbMicrojoules);

            // The guest sees the VM's joules as its host's, labelled hypervisor.
            var guestLine = await guest.ReadUntilHostEnergyAsync(webMicrojoules / 1e6, Wait);
            Assert.Equal("hypervisor", guestLine.GetProperty("source").GetString());
            using (var http = new HttpClient())
            {
                var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{await guest.PrometheusPortAsync()}/metrics"));
                Assert.Contains("otelpower_source=\"hypervisor\"", metrics, StringComparison.Ordinal);
            }

            // Prometheus: the VM series and every VM panel of the dashboard.
            await using (var prometheus = await PrometheusServer.StartAsync(await agent.PrometheusPortAsync(), scrapeInterval: "500ms"))
            {
                // The first scrape of a series reads 0 (its joules are credited on the next one): wait for them.
                await prometheus.WaitForAsync(async () => (await prometheus.QueryAsync("otelpower_vm_energy_joules_total")).Count == 2, Wait, "both VMs' series");
                await prometheus.WaitForAsync(
                    async () => (await prometheus.QueryAsync("otelpower_vm_energy_joules_total{otelpower_vm_name=\"web-01\"}")).Single().Value > 0, Wait, "web-01's joules after its zero");
                // increase() in the watt-hour panel needs two scrapes of each series.
                await prometheus.WaitForAsync(
                    async () => (await prometheus.QueryAsync("count_over_time(otelpower_vm_energy_joules_total[5m]) >= 2")).Count == 2, Wait, "two scrapes of both VMs' series");
                var series = await prometheus.QueryAsync("otelpower_vm_energy_joules_total{otelpower_vm_name=\"web-01\"}");
                var webSeries = Assert.Single(series);
                Assert.Equal(Uuid, webSeries.Labels["otelpower_vm_uuid"]);
                Assert.Equal("cpu", webSeries.Labels["hw_type"]);
                Assert.Equal(webMicrojoules / 1e6, webSeries.Value, 1e-6);
                var queries = DashboardQueries.Load().Where(q => q.Expression.Contains("otelpower_vm_", StringComparison.Ordinal)).ToList();
                Assert.NotEmpty(queries);
                foreach (var query in queries)
                {
                    var promql = DashboardQueries.ForPrometheus(query.Expression, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10));
                    var result = await prometheus.QueryAsync(promql);
                    Assert.True(result.Count > 0, $"dashboard panel '{query.PanelTitle}' ({query.RefId}) returned nothing: {promql}");
                }
            }

            // The hypervisor's agent dies (SIGKILL) and a new one starts: every counter goes on from the disk.
            await agent.DisposeAsync();
            agent = StartHypervisorAgent(hypervisor);
            await agent.ReadLineAsync(Wait);
            const int MoreSteps = 3;
            for (var i = 1; i <= MoreSteps; i++)
            {
                Step(hypervisor);
                line = await agent.ReadUntilHostEnergyAsync(HostJoulesPerStep * i, Wait);
            }

            await agent.ReadLineAsync(Wait);
            // The restarted agent's joules add to what the trees held.
            var after = line.GetProperty("vms").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!, v => (ulong)Math.Round(v.GetProperty("energy_j").GetDouble() * 1e6));
            Assert.True(after["web-01"] > 0 && after["db"] > 0);
            await CounterReachesAsync("web-01", webMicrojoules + after["web-01"]);
            await CounterReachesAsync("db", dbMicrojoules + after["db"]);
            await guest.ReadUntilHostEnergyAsync((webMicrojoules + after["web-01"]) / 1e6, Wait);

            await stopPolling.CancelAsync();
            await poller.WaitAsync(Wait);
            Assert.True(reads >= 5_000);
        }
        finally
        {
            await agent.DisposeAsync();
        }
    }
}
