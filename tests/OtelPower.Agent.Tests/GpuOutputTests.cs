using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using OtelPower.Agent.Exporters;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;

namespace OtelPower.Agent.Tests;

/// <summary>GPU figures in the JSON lines and the console view, from a snapshot the real ledger books.</summary>
public sealed class GpuOutputTests
{
    private static readonly EnergyZone Package = new("intel-rapl:0", "package-0", null, EnergyZoneKind.Package);
    private static readonly PoolDevice Gpu0 = new("GPU-8f3e0c1a-0000-4000-8000-000000000000", "gpu", 0, "gpu-0", "nvidia", "NVIDIA H100 80GB HBM3");
    private static readonly PoolDevice Gpu1 = new("GPU-9a0b0c1d-0000-4000-8000-000000000000", "gpu", 1, "gpu-1", "nvidia", "Tesla P100");
    private static readonly ContainerIdentity Trainer = new("c-train", "containerd", "pod-t", "burstable", "/kubepods/c-train");

    [Fact]
    public void Json_lists_each_gpu_and_gives_consumers_gpu_joules_beside_their_cpu_joules()
    {
        var line = JsonDocument.Parse(Json(Snapshot())).RootElement;

        var gpus = line.GetProperty("gpus").EnumerateArray().ToList();
        Assert.Equal(2, gpus.Count);
        var gpu0 = gpus.Single(g => g.GetProperty("index").GetInt32() == 0);
        Assert.Equal(Gpu0.Id, gpu0.GetProperty("uuid").GetString());
        Assert.Equal("gpu-0", gpu0.GetProperty("name").GetString());
        Assert.Equal("counter", gpu0.GetProperty("source").GetString());
        Assert.Equal(400.0, gpu0.GetProperty("energy_j").GetDouble(), 1e-9);
        Assert.Equal(200.0, gpu0.GetProperty("power_w").GetDouble(), 1e-9);
        Assert.Equal(160.0, gpu0.GetProperty("idle_energy_j").GetDouble(), 1e-9);
        Assert.Equal(80.0, gpu0.GetProperty("idle_power_w").GetDouble(), 1e-9);
        Assert.Equal("power", gpus.Single(g => g.GetProperty("index").GetInt32() == 1).GetProperty("source").GetString());

        // The trainer used no CPU in the interval but is listed for its GPU joules; energy_j stays the CPU pool's.
        var trainer = line.GetProperty("processes").EnumerateArray().Single(p => p.GetProperty("pid").GetInt32() == 10);
        Assert.Equal(240.0, trainer.GetProperty("gpu_energy_j").GetDouble(), 1e-9);
        Assert.Equal(120.0, trainer.GetProperty("gpu_power_w").GetDouble(), 1e-9);
        Assert.Equal(0.0, trainer.GetProperty("energy_j").GetDouble());
        var container = Assert.Single(line.GetProperty("containers").EnumerateArray());
        Assert.Equal(240.0, container.GetProperty("gpu_energy_j").GetDouble(), 1e-9);
        var pod = Assert.Single(line.GetProperty("pods").EnumerateArray());
        Assert.Equal(240.0, pod.GetProperty("gpu_energy_j").GetDouble(), 1e-9);
        Assert.Equal(120.0, pod.GetProperty("gpu_power_w").GetDouble(), 1e-9);
    }

    [Fact]
    public void A_host_without_gpus_has_an_empty_gpus_array_and_zero_gpu_joules()
    {
        var line = JsonDocument.Parse(Json(Snapshot(withGpus: false))).RootElement;

        Assert.Equal(0, line.GetProperty("gpus").GetArrayLength());
        Assert.All(line.GetProperty("processes").EnumerateArray(), p => Assert.Equal(0.0, p.GetProperty("gpu_energy_j").GetDouble()));
    }

    [Fact]
    public void Console_view_shows_a_gpu_block_and_a_gpu_column_only_where_there_are_gpus()
    {
        var text = new StringBuilder();
        ConsoleViewWriter.Render(text, Snapshot(), top: 10);
        var lines = text.ToString().Split('\n');

        Assert.Contains(lines, l => l.StartsWith("GPUs ", StringComparison.Ordinal) && l.Contains("250.00 W", StringComparison.Ordinal) && l.Contains("idle    130.00 W", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("gpu-0", StringComparison.Ordinal) && l.Contains("NVIDIA H100 80GB HBM3", StringComparison.Ordinal) && l.Contains("(counter)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("gpu-1", StringComparison.Ordinal) && l.Contains("(power)", StringComparison.Ordinal));
        var header = lines.Single(l => l.TrimStart().StartsWith("PID", StringComparison.Ordinal));
        Assert.EndsWith("GPU W", header, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.TrimStart().StartsWith("10 ", StringComparison.Ordinal) && l.EndsWith("120.00", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("?/pod-t", StringComparison.Ordinal) && l.EndsWith("120.00", StringComparison.Ordinal));

        var plain = new StringBuilder();
        ConsoleViewWriter.Render(plain, Snapshot(withGpus: false), top: 10);
        Assert.DoesNotContain("GPU", plain.ToString(), StringComparison.Ordinal);
    }

    private static string Json(AttributionSnapshot snapshot)
    {
        using var stream = new MemoryStream();
        using (var writer = new JsonLinesWriter(stream, ownsStream: false, includeCommandLine: false))
        {
            writer.Write(snapshot);
        }

        return Encoding.UTF8.GetString(stream.ToArray()).Trim();
    }

    /// <summary>Two samples 2 s apart: GPU 0 counts 400 J, the trainer 60 % of it; GPU 1 counts 100 J, unused (all GPUs: 250 W, 130 W idle).</summary>
    private static AttributionSnapshot Snapshot(bool withGpus = true)
    {
        var ledger = new EnergyLedger();
        ledger.Record(Sample(0, 0, 0, withGpus ? [] : null));
        return ledger.Record(Sample(2, 400_000_000, 100_000_000, withGpus ? [new PoolProcessUsage(10, 6_000)] : null))!;

        HostSample Sample(int second, ulong gpu0, ulong gpu1, ImmutableArray<PoolProcessUsage>? usage)
        {
            var trainer = new ProcessIdentity(new ProcessKey(10, 5), "train", "python3", null, false, Trainer);
            var shell = new ProcessIdentity(new ProcessKey(20, 5), "bash", "bash", null, false, null);
            ImmutableArray<EnergyPoolReading> pools = usage is { } used
                ? [new EnergyPoolReading(Gpu0, PoolEnergySource.Counter, gpu0, 0, 10_000, used),
                   new EnergyPoolReading(Gpu1, PoolEnergySource.Power, gpu1, 0, 10_000, [])]
                : [];
            var time = TimeSpan.FromSeconds(second);
            return new HostSample(
                DateTimeOffset.UnixEpoch + time, time, EnergySource.Rapl,
                [new EnergyZoneReading(Package, (ulong)second * 5_000_000, 262_143_328_850)],
                new CpuTimes((ulong)second * 400, 0, 0), 4,
                [new ProcessCpuReading(trainer, 100), new ProcessCpuReading(shell, 100 + ((ulong)second * 10))], 100,
                [new WorkloadCpuReading(Trainer, 1_000_000)],
                null,
                pools);
        }
    }
}
