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
        var meters = new List<Meter>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == harness.MeterName)
                {
                    meters.Add(instrument.Meter);
                }
            },
        };
        listener.Start();

        var meter = meters.Distinct().Single();
        var informational = typeof(PowerInstrumentationOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(informational.Split('+')[0], meter.Version);
        Assert.Equal("https://opentelemetry.io/schemas/1.37.0", meter.TelemetrySchemaUrl);
        Assert.Equal(SemanticConventions.SchemaUrl, meter.TelemetrySchemaUrl);
        Assert.Equal(SemanticConventions.InstrumentNames.Count, meters.Count);
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
