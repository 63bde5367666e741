// Meters this host for a few seconds with the OtelPower instruments and prints what they report:
//   dotnet run --project examples/OtelPower.Examples.Console -- --seconds 3
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OtelPower.Attribution;
using OtelPower.Sensors;

var seconds = args is ["--seconds", var value] && int.TryParse(value, CultureInfo.InvariantCulture, out var parsed) && parsed > 0 ? parsed : 5;

// The instruments read snapshots from a feed; any exporter can follow (here: in memory, to print them).
var feed = new AttributionFeed();
var exported = new List<Metric>();
using var meterProvider = Sdk.CreateMeterProviderBuilder()
    .AddPowerInstrumentation(feed)
    .AddInMemoryExporter(exported)
    .Build();

// Sample the host once a second: RAPL when readable, else the labelled estimate.
var sampler = new HostSampler(new SensorOptions(), TimeProvider.System, NullLogger<HostSampler>.Instance);
var ledger = new EnergyLedger();
Console.WriteLine($"Metering this host for {seconds} s (energy source: {sampler.Source.ToName()}) ...");
using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
ledger.Record(sampler.Sample());
for (var tick = 0; tick < seconds && await timer.WaitForNextTickAsync(); tick++)
{
    if (ledger.Record(sampler.Sample()) is { } snapshot)
    {
        feed.Publish(snapshot);
    }
}

meterProvider.ForceFlush();
foreach (var metric in exported.Where(m => m.Name is "hw.host.power" or "hw.host.energy"))
{
    foreach (ref readonly var point in metric.GetMetricPoints())
    {
        var reading = metric.MetricType == MetricType.DoubleGauge ? point.GetGaugeLastValueDouble() : point.GetSumDouble();
        var source = TagsOf(point).FirstOrDefault(t => t.Key == "otelpower.source").Value;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{metric.Name,-16} {reading,10:0.000} {metric.Unit}  (source={source})"));
    }
}

Console.WriteLine("Top process series by energy (otelpower.process.energy, J):");
var processes = new List<(double Joules, string Series)>();
foreach (var metric in exported.Where(m => m.Name == "otelpower.process.energy"))
{
    foreach (ref readonly var point in metric.GetMetricPoints())
    {
        var tags = TagsOf(point);
        processes.Add((point.GetSumDouble(), string.Join(' ', tags.Where(t => t.Key.StartsWith("process.", StringComparison.Ordinal)).Select(t => $"{t.Key}={t.Value}"))));
    }
}

foreach (var (joules, series) in processes.OrderByDescending(p => p.Joules).Take(5))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {joules,10:0.000}  {series}"));
}

static List<KeyValuePair<string, object?>> TagsOf(in MetricPoint point)
{
    var tags = new List<KeyValuePair<string, object?>>();
    foreach (var tag in point.Tags)
    {
        tags.Add(tag);
    }

    return tags;
}
