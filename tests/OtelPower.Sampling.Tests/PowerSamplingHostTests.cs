using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OtelPower.Agent.Tests;
using OtelPower.Attribution;
using OtelPower.Sampling;
using OtelPower.Sensors.Tests;

namespace OtelPower.Sampling.Tests;

/// <summary>
/// The two lines an application writes (<c>AddPowerSampling()</c> and <c>AddPowerInstrumentation()</c>) in a
/// generic host, on fake time, reading a copy of the two-socket fixture that the test advances between ticks.
/// </summary>
public sealed class PowerSamplingHostTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly FixtureCopy _fixture = new("two-socket");
    private readonly SamplingClock _clock = new();
    private readonly List<Metric> _exported = [];
    private readonly string _meterName = "OtelPower.Tests." + Guid.NewGuid().ToString("N");

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Two_lines_give_an_application_the_hosts_joules_and_its_processes()
    {
        using var host = Build();
        var published = Channel.CreateUnbounded<AttributionSnapshot>();
        host.Services.GetRequiredService<AttributionFeed>().Published += (_, snapshot) => published.Writer.TryWrite(snapshot);
        await host.StartAsync();
        await _clock.TimerCreated.WaitAsync(Guard);

        // One second in which socket 0's package counts 10 J and its DRAM 2 J (host: packages + dram), the host
        // 400 CPU ticks, and pid 100 (comm "my app (v2)", executable my-app) 100 of them: a quarter of the joules.
        Bump("sys/class/powercap/intel-rapl:0/energy_uj", 100_000_000, 110_000_000);
        Bump("sys/class/powercap/intel-rapl:0:2/energy_uj", 20_000_000, 22_000_000);
        Replace("proc/stat", "cpu  1000 100 400 8000 ", "cpu  1100 100 400 8300 ");
        Replace("proc/100/stat", " 300 100 7 9 ", " 400 100 7 9 ");
        _clock.Advance(TimeSpan.FromSeconds(1));
        var snapshot = await published.Reader.ReadAsync().AsTask().WaitAsync(Guard);
        Assert.Equal(EnergySource.Rapl, snapshot.Source);

        var metrics = CollectSettled(host.Services.GetRequiredService<MeterProvider>());
        Assert.Equal(12.0, Assert.Single(metrics["hw.host.energy"]).Value, 9);
        Assert.Equal(12.0, Assert.Single(metrics["hw.host.power"]).Value, 9);

        // A process's first joules are in its executable's series (its own series, once promoted, starts at 0).
        var app = metrics["otelpower.process.energy"].Where(p => (string?)p.Attributes["process.executable.name"] == "my-app").ToList();
        Assert.Contains(app, p => p.Attributes.ContainsKey("process.pid"));
        Assert.Equal(3.0, app.Sum(p => p.Value), 9);
        Assert.Equal(3.0, metrics["otelpower.process.energy"].Sum(p => p.Value), 9);
        Assert.Equal(9.0, metrics["otelpower.idle.energy"].Sum(p => p.Value), 9);
        Assert.Equal(10.0, metrics["hw.energy"].Single(p => (string?)p.Attributes["hw.id"] == "intel-rapl:0").Value, 9);

        await host.StopAsync();
    }

    [Fact]
    public async Task The_loop_stops_the_application_after_the_intervals_it_was_given()
    {
        using var host = Build(sampling => sampling.StopAfterIntervals = 2);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        var published = Channel.CreateUnbounded<AttributionSnapshot>();
        host.Services.GetRequiredService<AttributionFeed>().Published += (_, snapshot) => published.Writer.TryWrite(snapshot);
        await host.StartAsync();
        await _clock.TimerCreated.WaitAsync(Guard);

        for (var tick = 0; tick < 2; tick++)
        {
            Assert.False(stopping.Task.IsCompleted);
            _clock.Advance(TimeSpan.FromSeconds(1)); // one tick at a time: a tick right after a late sample is skipped
            await published.Reader.ReadAsync().AsTask().WaitAsync(Guard);
        }

        await stopping.Task.WaitAsync(Guard);

        Assert.Equal(2, host.Services.GetRequiredService<AttributionFeed>().Latest?.IntervalCount);
        await host.StopAsync();
    }

    [Fact]
    public void Calling_AddPowerSampling_twice_runs_one_loop()
    {
        var services = new ServiceCollection().AddPowerSampling().AddPowerSampling();

        Assert.Single(services, d => d.ServiceType == typeof(IHostedService));
        Assert.Single(services, d => d.ServiceType == typeof(AttributionFeed));
    }

    [Fact]
    public void Without_a_feed_in_the_services_AddPowerInstrumentation_says_what_to_add()
    {
        var builder = Sdk.CreateMeterProviderBuilder().AddPowerInstrumentation();

        var exception = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Contains("AddPowerSampling()", exception.Message, StringComparison.Ordinal);
    }

    private IHost Build(Action<PowerSamplingOptions>? configure = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton<TimeProvider>(_clock);
        builder.Services.AddPowerSampling(sampling =>
        {
            sampling.ProcfsRoot = _fixture.Procfs;
            sampling.SysfsRoot = _fixture.Sysfs;
            sampling.CgroupfsRoot = null;
            configure?.Invoke(sampling);
        });

        // A meter name of its own: xunit runs test classes in parallel, and providers listen by meter name.
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddPowerInstrumentation(power => power.MeterName = _meterName)
            .AddInMemoryExporter(_exported));
        return builder.Build();
    }

    /// <summary>Collects twice and returns the second: a series' first export is 0 (the counter start gate).</summary>
    private Dictionary<string, List<(double Value, Dictionary<string, object?> Attributes)>> CollectSettled(MeterProvider provider)
    {
        provider.ForceFlush();
        _exported.Clear();
        provider.ForceFlush();
        var result = new Dictionary<string, List<(double, Dictionary<string, object?>)>>();
        foreach (var metric in _exported)
        {
            var points = new List<(double, Dictionary<string, object?>)>();
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                var attributes = new Dictionary<string, object?>();
                foreach (var tag in point.Tags)
                {
                    attributes[tag.Key] = tag.Value;
                }

                points.Add((metric.MetricType == MetricType.DoubleSum ? point.GetSumDouble() : point.GetGaugeLastValueDouble(), attributes));
            }

            result[metric.Name] = points;
        }

        return result;
    }

    private void Bump(string relativePath, ulong from, ulong to) =>
        Replace(relativePath, from.ToString(System.Globalization.CultureInfo.InvariantCulture), to.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private void Replace(string relativePath, string from, string to)
    {
        var path = Path.Combine(_fixture.Root, relativePath);
        var text = File.ReadAllText(path);
        Assert.Contains(from, text, StringComparison.Ordinal);
        File.WriteAllText(path, text.Replace(from, to, StringComparison.Ordinal));
    }
}
