using System.Collections.Immutable;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OtelPower.Attribution;

namespace OtelPower.Instrumentation.Tests;

/// <summary>
/// A MeterProvider with the in-memory exporter, fed by snapshots the test builds with exact joules. Each
/// harness has its own meter name: xunit runs test classes in parallel, and a provider listens by meter
/// name, so two harnesses on the default name would each see the other's measurements.
/// </summary>
internal sealed class MetricsHarness : IDisposable
{
    private readonly List<Metric> _exported = [];
    private readonly MeterProvider _provider;

    public MetricsHarness(Action<PowerInstrumentationOptions>? configure = null)
    {
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddPowerInstrumentation(Feed, options =>
            {
                options.MeterName = MeterName;
                configure?.Invoke(options);
            })
            .AddInMemoryExporter(_exported, reader => reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative)
            .Build()!;
    }

    public AttributionFeed Feed { get; } = new();

    public string MeterName { get; } = "OtelPower.Tests." + Guid.NewGuid().ToString("N");

    /// <summary>
    /// Collects twice and returns the second: a series' first export is 0 (the counter start gate), the next
    /// carries its joules. Tests of values use this; tests of the gate itself use <see cref="Collect"/>.
    /// </summary>
    public Dictionary<string, List<(double Value, Dictionary<string, object?> Attributes, Metric Metric)>> CollectSettled()
    {
        Collect();
        return Collect();
    }

    /// <summary>Collects now and returns each metric's points as (value, attributes).</summary>
    public Dictionary<string, List<(double Value, Dictionary<string, object?> Attributes, Metric Metric)>> Collect()
    {
        _exported.Clear();
        _provider.ForceFlush();
        var result = new Dictionary<string, List<(double, Dictionary<string, object?>, Metric)>>();
        foreach (var metric in _exported)
        {
            var points = new List<(double, Dictionary<string, object?>, Metric)>();
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                var attributes = new Dictionary<string, object?>();
                foreach (var tag in point.Tags)
                {
                    attributes[tag.Key] = tag.Value;
                }

                var value = metric.MetricType == MetricType.DoubleSum ? point.GetSumDouble() : point.GetGaugeLastValueDouble();
                points.Add((value, attributes, metric));
            }

            result[metric.Name] = points;
        }

        return result;
    }

    public void Dispose() => _provider.Dispose();
}

/// <summary>Builds snapshots as the ledger would, keeping cumulative totals across calls.</summary>
internal sealed class SnapshotSequence
{
    public static readonly EnergyZone Package = new("intel-rapl:0", "package-0", null, EnergyZoneKind.Package);
    public static readonly EnergyZone Dram = new("intel-rapl:0:2", "dram-0", "intel-rapl:0", EnergyZoneKind.Dram);

    private readonly Dictionary<ProcessKey, (ProcessIdentity Identity, long Total)> _processes = [];
    private long _host, _idle, _package, _dram, _count;

    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Next snapshot: the given live processes with their interval µJ; the rest of the host energy is idle.</summary>
    public AttributionSnapshot Next(long hostMicrojoules, IEnumerable<(int Pid, string Exe, long Microjoules)> live, bool kernel = false)
    {
        var processes = new List<ProcessEnergy>();
        long attributed = 0;
        var seen = new HashSet<ProcessKey>();
        foreach (var (pid, exe, microjoules) in live)
        {
            var key = new ProcessKey(pid, 1);
            seen.Add(key);
            if (!_processes.TryGetValue(key, out var state))
            {
                state = (new ProcessIdentity(key, exe, exe, "secret --token=abc", kernel), 0);
            }

            state.Total += microjoules;
            _processes[key] = state;
            attributed += microjoules;
            processes.Add(new ProcessEnergy(state.Identity, new EnergyTally(new Energy(state.Total), new Energy(microjoules), new Energy(microjoules).Over(Interval)), 1));
        }

        foreach (var gone in _processes.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _processes.Remove(gone);
        }

        _host += hostMicrojoules;
        _idle += hostMicrojoules - attributed;
        var dram = hostMicrojoules / 5;
        _dram += dram;
        _package += hostMicrojoules - dram;
        _count++;
        var interval = Interval;
        EnergyTally Tally(long total, long delta) => new(new Energy(total), new Energy(delta), new Energy(delta).Over(interval));
        return new AttributionSnapshot(
            DateTimeOffset.UnixEpoch.AddSeconds(_count),
            interval,
            _count,
            EnergySource.Rapl,
            Tally(_host, hostMicrojoules),
            [new ZoneEnergy(Package, Tally(_package, hostMicrojoules - dram)), new ZoneEnergy(Dram, Tally(_dram, dram))],
            Tally(_idle, hostMicrojoules - attributed),
            [.. processes.OrderBy(p => p.Key)],
            100);
    }

    public long HostTotal => _host;
}
