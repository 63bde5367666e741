using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using OtelPower.Attribution;
using OtelPower.Sensors;

namespace OtelPower.Bench;

/// <summary>
/// BenchmarkDotNet's view of one sample: read every process of the tree, attribute the interval, publish.
/// Its allocation column is the figure to watch (the hot path should allocate nothing per process).
/// </summary>
[MemoryDiagnoser]
public class SampleBenchmarks
{
    private string _root = string.Empty;
    private HostSampler? _sampler;
    private EnergyLedger? _ledger;
    private AttributionFeed? _feed;

    [Params(1_000, 10_000)]
    public int Processes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _root = Path.Combine(Path.GetTempPath(), "otelpower-micro-" + Guid.NewGuid().ToString("N"));
        var tree = BenchHost.Write(_root, Processes);
        _sampler = new HostSampler(
            new SensorOptions { ProcfsRoot = tree.Procfs, SysfsRoot = tree.Sysfs, CgroupfsRoot = null },
            TimeProvider.System,
            NullLogger<HostSampler>.Instance);
        _ledger = new EnergyLedger();
        _feed = new AttributionFeed();
        Sample(); // the identity cache fills on the first sample
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_root, recursive: true);

    [Benchmark]
    public void Sample()
    {
        if (_ledger!.Record(_sampler!.Sample()) is { } snapshot)
        {
            _feed!.Publish(snapshot);
        }
    }
}
