// Meters this host for a few seconds with the OtelPower instruments and prints what they report:
//   dotnet run --project examples/OtelPower.Examples.Console -- --seconds 3
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OtelPower.Attribution;
using OtelPower.Sampling;

var seconds = args is ["--seconds", var value] && int.TryParse(value, CultureInfo.InvariantCulture, out var parsed) && parsed > 0 ? parsed : 5;

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);

// The two lines: sample the host once a second (RAPL when readable, else the labelled estimate) and export
// the instruments; any exporter can follow (here: in memory, to print them). The loop stops the host after
// the given number of intervals.
var exported = new List<Metric>();
builder.Services.AddPowerSampling(sampling => sampling.StopAfterIntervals = seconds);
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddPowerInstrumentation().AddInMemoryExporter(exported));

using var host = builder.Build();
Console.WriteLine($"Metering this host for {seconds} s (energy source: {host.Services.GetRequiredService<PowerSampler>().Source.ToName()}) ...");
await host.StartAsync();
await host.WaitForShutdownAsync();

var meterProvider = host.Services.GetRequiredService<MeterProvider>();
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
