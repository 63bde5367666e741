using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using OtelPower.Attribution;
using OtelPower.Sampling;
using OtelPower.Sensors;

namespace OtelPower.Bench;

/// <summary>
/// BenchmarkDotNet's view of one sample: read every process of the tree, attribute the interval, publish
/// (<see cref="PowerSampler.SampleOnce"/>, the step the agent's and every host's loop takes).
/// Its allocation column is the figure to watch (the hot path should allocate nothing per process).
/// </summary>
[MemoryDiagnoser]
public class SampleBenchmarks
{
    private string _root = string.Empty;
    private PowerSampler? _sampler;

    [Params(1_000, 10_000)]
    public int Processes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _root = Path.Combine(Path.GetTempPath(), "otelpower-micro-" + Guid.NewGuid().ToString("N"));
        var tree = BenchHost.Write(_root, Processes);
        _sampler = new PowerSampler(
            new HostSampler(
                new SensorOptions { ProcfsRoot = tree.Procfs, SysfsRoot = tree.Sysfs, CgroupfsRoot = null },
                TimeProvider.System,
                NullLogger<HostSampler>.Instance),
            new AttributionFeed());
        Sample(); // the identity cache fills on the first sample
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_root, recursive: true);

    [Benchmark]
    public void Sample() => _sampler!.SampleOnce();
}
