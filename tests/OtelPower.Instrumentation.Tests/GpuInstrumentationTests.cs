using System.Collections.Immutable;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;

namespace OtelPower.Instrumentation.Tests;

public sealed class GpuInstrumentationTests
{
    private static readonly EnergyZone Package = new("intel-rapl:0", "package-0", null, EnergyZoneKind.Package);
    private static readonly PoolDevice Gpu0 = new("GPU-8f3e0c1a-0000-4000-8000-000000000000", "gpu", 0, "gpu-0", "nvidia", "NVIDIA H100 80GB HBM3");
    private static readonly ContainerIdentity Trainer = new("c-train", "containerd", "pod-t", "burstable", "/kubepods/c-train");

    [Fact]
    public void Gpus_are_hw_devices_and_consumers_carry_hw_type_so_a_namespace_sums_cpu_and_gpu()
    {
        using var harness = new MetricsHarness();
        var ledger = new EnergyLedger();
        Publish(harness, ledger, Sample(0, package: 0, gpu: 0, trainerTicks: 0, usage: []));
        Publish(harness, ledger, Sample(1, package: 40_000_000, gpu: 300_000_000, trainerTicks: 100, usage: [(10, 50), (20, 10)]));
        Publish(harness, ledger, Sample(2, package: 80_000_000, gpu: 600_000_000, trainerTicks: 200, usage: [(10, 50), (20, 10)]));
        var metrics = harness.CollectSettled();

        var gpu = metrics["hw.energy"].Single(p => (string?)p.Attributes["hw.type"] == "gpu");
        Assert.Equal(Gpu0.Id, gpu.Attributes["hw.id"]);
        Assert.Equal("gpu-0", gpu.Attributes["hw.name"]);
        Assert.Equal("nvidia", gpu.Attributes["hw.vendor"]);
        Assert.Equal("NVIDIA H100 80GB HBM3", gpu.Attributes["hw.model"]);
        Assert.Equal(600.0, gpu.Value, 9);
        Assert.Equal(300.0, metrics["hw.power"].Single(p => (string?)p.Attributes["hw.type"] == "gpu").Value, 9);
        Assert.Equal(0.6, Assert.Single(metrics["hw.gpu.utilization"]).Value, 9);
        Assert.Equal(8e9, Assert.Single(metrics["hw.gpu.memory.usage"]).Value);
        Assert.Equal(80e9, Assert.Single(metrics["hw.gpu.memory.limit"]).Value);

        // Idle per pool: 40 % of each GPU interval is unused; the CPU pool's idle keeps its own series.
        var idle = metrics["otelpower.idle.energy"];
        var gpuIdle = idle.Single(p => (string?)p.Attributes["hw.type"] == "gpu");
        Assert.Equal(240.0, gpuIdle.Value, 9);
        Assert.Equal(Gpu0.Id, gpuIdle.Attributes["hw.id"]);
        Assert.Equal("gpu-0", gpuIdle.Attributes["hw.name"]);
        Assert.Contains(idle, p => (string?)p.Attributes["hw.type"] == "cpu");

        // Every GPU joule is in exactly one process series or in idle.
        var gpuProcesses = metrics["otelpower.process.energy"].Where(p => (string?)p.Attributes["hw.type"] == "gpu").Sum(p => p.Value);
        Assert.Equal(600.0, gpuProcesses + 240.0, 6);

        // The pod's GPU series: pid 10 is its only GPU user, 50 % of 300 J per interval.
        var pods = metrics["otelpower.pod.energy"];
        var podGpu = pods.Single(p => (string?)p.Attributes["hw.type"] == "gpu");
        Assert.Equal("ml", podGpu.Attributes["k8s.namespace.name"]);
        Assert.Equal(300.0, podGpu.Value, 9);
        Assert.Equal("nvml", podGpu.Attributes["otelpower.source"]);
        var podCpu = pods.Single(p => (string?)p.Attributes["hw.type"] == "cpu");
        Assert.Equal("rapl", podCpu.Attributes["otelpower.source"]);
    }

    [Fact]
    public void Without_the_gpu_consumer_set_the_gpus_and_their_idle_are_exported_but_no_consumer_gpu_shares()
    {
        using var harness = new MetricsHarness(o => o.IncludeGpuConsumers = false);
        var ledger = new EnergyLedger();
        Publish(harness, ledger, Sample(0, package: 0, gpu: 0, trainerTicks: 0, usage: []));
        Publish(harness, ledger, Sample(1, package: 40_000_000, gpu: 300_000_000, trainerTicks: 100, usage: [(10, 50), (20, 10)]));
        Publish(harness, ledger, Sample(2, package: 80_000_000, gpu: 600_000_000, trainerTicks: 200, usage: [(10, 50), (20, 10)]));
        var metrics = harness.CollectSettled();

        Assert.Equal(600.0, metrics["hw.energy"].Single(p => (string?)p.Attributes["hw.type"] == "gpu").Value, 9);
        Assert.Equal(240.0, metrics["otelpower.idle.energy"].Single(p => (string?)p.Attributes["hw.type"] == "gpu").Value, 9);
        foreach (var consumer in new[] { "otelpower.process.energy", "otelpower.process.power", "otelpower.container.energy", "otelpower.pod.energy" })
        {
            Assert.NotEmpty(metrics[consumer]);
            Assert.All(metrics[consumer], p => Assert.Equal("cpu", p.Attributes["hw.type"]));
        }

        // The CPU set is whole: the pod's CPU joules are the same as with the GPU set on.
        Assert.True(Assert.Single(metrics["otelpower.pod.energy"]).Value > 0);
    }

    [Fact]
    public void A_host_without_gpus_exports_no_gpu_series()
    {
        using var harness = new MetricsHarness();
        var ledger = new EnergyLedger();
        Publish(harness, ledger, Sample(0, package: 0, gpu: null, trainerTicks: 0, usage: []));
        Publish(harness, ledger, Sample(1, package: 40_000_000, gpu: null, trainerTicks: 100, usage: []));
        var metrics = harness.CollectSettled();

        Assert.All(metrics.Values.SelectMany(points => points), p => Assert.NotEqual("gpu", p.Attributes.GetValueOrDefault("hw.type")));
        Assert.False(metrics.ContainsKey("hw.gpu.utilization"));
        Assert.Equal("cpu", Assert.Single(metrics["otelpower.idle.energy"]).Attributes["hw.type"]);
    }

    private static void Publish(MetricsHarness harness, EnergyLedger ledger, HostSample sample)
    {
        if (ledger.Record(sample) is { } snapshot)
        {
            harness.Feed.Publish(snapshot);
        }
    }

    private static HostSample Sample(int second, ulong package, ulong? gpu, ulong trainerTicks, (int Pid, int SmPercent)[] usage)
    {
        var trainer = new ProcessIdentity(new ProcessKey(10, 5), "train", "python3", null, false, Trainer);
        var host = new ProcessIdentity(new ProcessKey(20, 5), "viz", "viz", null, false, null);
        ImmutableArray<EnergyPoolReading> pools = gpu is { } microjoules
            ? [new EnergyPoolReading(
                Gpu0, PoolEnergySource.Counter, microjoules, 0, 10_000,
                [.. usage.Select(u => new PoolProcessUsage(u.Pid, (ulong)u.SmPercent * 100))],
                new Power(300), new GpuStatistics(0.6, 8_000_000_000, 80_000_000_000))]
            : [];
        var time = TimeSpan.FromSeconds(second);
        return new HostSample(
            DateTimeOffset.UnixEpoch + time, time, EnergySource.Rapl,
            [new EnergyZoneReading(Package, package, 262_143_328_850)],
            new CpuTimes((ulong)second * 400, 0, 0), 4,
            [new ProcessCpuReading(trainer, trainerTicks), new ProcessCpuReading(host, 0)], 100,
            [new WorkloadCpuReading(Trainer, trainerTicks * 10_000)],
            ImmutableDictionary<string, ContainerMetadata>.Empty.Add("c-train", new ContainerMetadata("train-0", "ml", "main", ContainerMetadata.NoLabels)),
            pools);
    }
}
