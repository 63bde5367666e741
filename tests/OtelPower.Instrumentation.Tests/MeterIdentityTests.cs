using System.Diagnostics.Metrics;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OtelPower.Attribution;

namespace OtelPower.Instrumentation.Tests;

public sealed class MeterIdentityTests
{
    [Fact]
    public void A_listener_sees_the_package_version_and_the_semantic_conventions_schema()
    {
        using var harness = new MetricsHarness();
        var instruments = new List<Instrument>();
        using var listener = ListenTo(harness, instruments);
        var meters = instruments.Select(i => i.Meter).ToList();

        var meter = meters.Distinct().Single();
        var informational = typeof(PowerInstrumentationOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(informational.Split('+')[0], meter.Version);
        Assert.Equal("https://opentelemetry.io/schemas/1.37.0", meter.TelemetrySchemaUrl);
        Assert.Equal(SemanticConventions.SchemaUrl, meter.TelemetrySchemaUrl);
        Assert.Equal(SemanticConventions.InstrumentNames.Count - WorkloadInstruments.Length, meters.Count); // the rest come with the first workload
    }

    [Fact]
    public void Container_pod_and_vm_instruments_are_published_with_the_first_such_workload()
    {
        using var harness = new MetricsHarness();
        var instruments = new List<Instrument>();
        using var listener = ListenTo(harness, instruments);
        List<string> Published() => [.. instruments.Select(i => i.Name)];
        Assert.Equal(SemanticConventions.InstrumentNames.Except(WorkloadInstruments).Order(), Published().Order());

        var ledger = new EnergyLedger();
        var container = new ContainerIdentity("c-1", "containerd", "pod-1", "burstable", "/kubepods/c-1");
        var vm = new VmIdentity("guest", null, null, "/machine.slice/machine-qemu\\x2d1\\x2dguest.scope");
        Record(harness, ledger, 0, workloads: []);
        Record(harness, ledger, 1, workloads: []);
        Assert.DoesNotContain(SemanticConventions.ContainerEnergy, Published()); // processes alone: still none

        Record(harness, ledger, 2, workloads: [new WorkloadCpuReading(container, 1_000_000)]);
        Assert.Equal(
            [SemanticConventions.ContainerEnergy, SemanticConventions.ContainerPower, SemanticConventions.PodEnergy, SemanticConventions.PodPower],
            Published().Where(WorkloadInstruments.Contains).Order());

        Record(harness, ledger, 3, workloads: [new WorkloadCpuReading(container, 2_000_000), new WorkloadCpuReading(vm, 1_000_000)]);
        Assert.Equal(WorkloadInstruments.Order(), Published().Where(WorkloadInstruments.Contains).Order());
        Assert.Equal(Published().Count, Published().Distinct().Count()); // each once, however many workloads follow

        // The series the first workload interval measured are exported from that interval on.
        Record(harness, ledger, 4, workloads: [new WorkloadCpuReading(container, 3_000_000), new WorkloadCpuReading(vm, 2_000_000)]);
        var metrics = harness.CollectSettled();
        Assert.Contains(metrics[SemanticConventions.ContainerEnergy], p => (string?)p.Attributes["container.id"] == "c-1" && p.Value > 0);
        Assert.Contains(metrics[SemanticConventions.VmEnergy], p => p.Value > 0);
    }

    private static readonly string[] WorkloadInstruments =
    [
        SemanticConventions.ContainerEnergy, SemanticConventions.ContainerPower, SemanticConventions.PodEnergy,
        SemanticConventions.PodPower, SemanticConventions.VmEnergy, SemanticConventions.VmPower,
    ];

    /// <summary>Adds each instrument the harness's meter publishes, from now on, to <paramref name="instruments"/>.</summary>
    private static MeterListener ListenTo(MetricsHarness harness, List<Instrument> instruments)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == harness.MeterName)
                {
                    lock (instruments)
                    {
                        instruments.Add(instrument);
                    }
                }
            },
        };
        listener.Start();
        return listener;
    }

    private static void Record(MetricsHarness harness, EnergyLedger ledger, int second, WorkloadCpuReading[] workloads)
    {
        var app = new ProcessIdentity(new ProcessKey(10, 5), "app", "app", null, false, null);
        var time = TimeSpan.FromSeconds(second);
        var sample = new HostSample(
            DateTimeOffset.UnixEpoch + time, time, EnergySource.Rapl,
            [new EnergyZoneReading(SnapshotSequence.Package, (ulong)second * 10_000_000, 262_143_328_850)],
            new CpuTimes((ulong)second * 400, 0, 0), 4,
            [new ProcessCpuReading(app, (ulong)second * 100)], 100,
            [.. workloads],
            System.Collections.Immutable.ImmutableDictionary<string, ContainerMetadata>.Empty,
            []);
        if (ledger.Record(sample) is { } snapshot)
        {
            harness.Feed.Publish(snapshot);
        }
    }

    [Fact]
    public void Without_a_feed_argument_the_instruments_read_the_feed_in_the_services()
    {
        var feed = new AttributionFeed();
        var meterName = "OtelPower.Tests." + Guid.NewGuid().ToString("N");
        var exported = new List<Metric>();
        using var provider = Sdk.CreateMeterProviderBuilder()
            .ConfigureServices(services => services.AddSingleton(feed))
            .AddPowerInstrumentation(o => o.MeterName = meterName)
            .AddInMemoryExporter(exported)
            .Build();

        feed.Publish(new SnapshotSequence().Next(10_000_000, [(100, "web", 4_000_000)]));
        provider.ForceFlush();
        exported.Clear();
        provider.ForceFlush(); // the second collect: a series' first export is 0

        var host = exported.Single(m => m.Name == "hw.host.energy");
        var points = new List<double>();
        foreach (ref readonly var point in host.GetMetricPoints())
        {
            points.Add(point.GetSumDouble());
        }

        Assert.Equal(10.0, Assert.Single(points), 9);
    }
}
