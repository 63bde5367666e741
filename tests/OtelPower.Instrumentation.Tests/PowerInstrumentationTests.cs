using OpenTelemetry.Metrics;
using OtelPower.Attribution;

namespace OtelPower.Instrumentation.Tests;

public sealed class PowerInstrumentationTests
{
    [Fact]
    public void Instruments_have_the_contracted_names_units_types_and_attributes()
    {
        using var harness = new MetricsHarness();
        var sequence = new SnapshotSequence();
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 4_000_000)]));
        var metrics = harness.CollectSettled();

        Assert.Equal(
            ["hw.energy", "hw.host.energy", "hw.host.power", "hw.power", "otelpower.idle.energy", "otelpower.idle.power", "otelpower.process.energy", "otelpower.process.power"],
            metrics.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, points) in metrics)
        {
            var metric = points[0].Metric;
            Assert.Equal(name.EndsWith(".energy", StringComparison.Ordinal) ? "J" : "W", metric.Unit);
            Assert.Equal(name.EndsWith(".energy", StringComparison.Ordinal) ? MetricType.DoubleSum : MetricType.DoubleGauge, metric.MetricType);
            Assert.Equal(harness.MeterName, metric.MeterName);
        }

        var dram = metrics["hw.energy"].Single(p => (string?)p.Attributes["hw.id"] == "intel-rapl:0:2");
        Assert.Equal("dram-0", dram.Attributes["hw.name"]);
        Assert.Equal("memory", dram.Attributes["hw.type"]);
        Assert.Equal("intel-rapl:0", dram.Attributes["hw.parent"]);
        Assert.Equal(2.0, dram.Value, 9);
        var package = metrics["hw.energy"].Single(p => (string?)p.Attributes["hw.id"] == "intel-rapl:0");
        Assert.Equal("cpu", package.Attributes["hw.type"]);
        Assert.False(package.Attributes.ContainsKey("hw.parent"));

        var host = Assert.Single(metrics["hw.host.energy"]);
        Assert.Equal(10.0, host.Value, 9);
        Assert.Equal("rapl", host.Attributes["otelpower.source"]);
        Assert.Equal(6.0, Assert.Single(metrics["otelpower.idle.energy"]).Value, 9);
        Assert.Equal(6.0, Assert.Single(metrics["otelpower.idle.power"]).Value, 9);
    }

    [Fact]
    public void The_meter_is_named_OtelPower_unless_configured()
    {
        Assert.Equal("OtelPower", new PowerInstrumentationOptions().MeterName);
        Assert.Equal("OtelPower", SemanticConventions.MeterName);
    }

    [Fact]
    public void Two_providers_on_different_meter_names_do_not_see_each_other()
    {
        using var first = new MetricsHarness();
        using var second = new MetricsHarness();
        var sequence = new SnapshotSequence();
        first.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 4_000_000)]));

        Assert.Equal(10.0, Assert.Single(first.CollectSettled()["hw.host.energy"]).Value, 9);
        Assert.DoesNotContain("hw.host.energy", second.CollectSettled().Keys);
    }

    [Fact]
    public void Device_instruments_are_limited_to_the_device_budget_and_consumers_keep_theirs()
    {
        // 200 zones on one host (no real node has more than a handful): hw.energy keeps DeviceSeriesLimit
        // series and folds the rest into the SDK's overflow series, while 200 processes all keep their own.
        using var harness = new MetricsHarness(o =>
        {
            o.MaxProcessSeries = 200;
            o.MaxExecutableSeries = 10;
            o.CardinalityLimit = 1000;
        });
        var zones = Enumerable.Range(0, 200).Select(i => new EnergyZone("zone:" + i, "package-" + i, null, EnergyZoneKind.Package)).ToArray();
        var processes = Enumerable.Range(1, 200).Select(pid => new ProcessIdentity(new ProcessKey(pid, 1), "p" + pid, "p" + pid, null, isKernelThread: false)).ToArray();
        var ledger = new EnergyLedger();
        for (var second = 0; second < 3; second++)
        {
            var time = TimeSpan.FromSeconds(second);
            var sample = new HostSample(
                DateTimeOffset.UnixEpoch + time, time, EnergySource.Rapl, [.. zones.Select(z => new EnergyZoneReading(z, (ulong)second * 1_000_000, 262_143_328_850))],
                new CpuTimes((ulong)second * 400, 0, 0), 4, [.. processes.Select(p => new ProcessCpuReading(p, (ulong)second * 2))], 100);
            if (ledger.Record(sample) is { } snapshot)
            {
                harness.Feed.Publish(snapshot);
            }
        }

        var metrics = harness.CollectSettled();
        var zoneSeries = metrics["hw.energy"];
        Assert.Equal(PowerInstrumentationOptions.DeviceSeriesLimit + 1, zoneSeries.Count); // the limit, and the overflow series
        Assert.Single(zoneSeries, p => p.Attributes.ContainsKey("otel.metric.overflow"));
        Assert.Equal(200, metrics["otelpower.process.energy"].Count(p => p.Attributes.ContainsKey("process.pid")));
        Assert.DoesNotContain(metrics["otelpower.process.energy"], p => p.Attributes.ContainsKey("otel.metric.overflow"));
    }

    [Fact]
    public void The_cardinality_view_leaves_another_meters_instrument_of_the_same_name_alone()
    {
        var foreignMeterName = "Foreign." + Guid.NewGuid().ToString("N");
        using var foreign = new System.Diagnostics.Metrics.Meter(foreignMeterName);
        var energy = foreign.CreateCounter<double>("hw.energy");
        var exported = new List<MetricSnapshot>();
        using var provider = OpenTelemetry.Sdk.CreateMeterProviderBuilder()
            .AddPowerInstrumentation(new AttributionFeed(), o =>
            {
                o.MeterName = "OtelPower.Tests." + Guid.NewGuid().ToString("N");
                o.CardinalityLimit = 200;
                o.MaxProcessSeries = 10;
                o.MaxExecutableSeries = 20;
            })
            .AddMeter(foreignMeterName)
            .AddInMemoryExporter(exported)
            .Build()!;

        // 300 attribute sets: under our View's limit of 200 some would fold into the overflow series.
        for (var i = 0; i < 300; i++)
        {
            energy.Add(1, new KeyValuePair<string, object?>("hw.id", "zone-" + i));
        }

        provider.ForceFlush();
        var points = exported.First(m => m.MeterName == foreignMeterName).MetricPoints;
        Assert.Equal(300, points.Count);
    }

    [Fact]
    public void A_top_process_gets_its_own_series_from_the_next_interval_and_no_joule_is_counted_twice()
    {
        using var harness = new MetricsHarness();
        var sequence = new SnapshotSequence();
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 4_000_000)]));
        var first = harness.CollectSettled()["otelpower.process.energy"];
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 3_000_000)]));
        var second = harness.CollectSettled()["otelpower.process.energy"];

        // Interval 1: web's 4 J are in the executable series; its pid series appears at 0.
        Assert.Equal(4.0, first.Single(p => !p.Attributes.ContainsKey("process.pid")).Value, 9);
        var promoted = first.Single(p => p.Attributes.ContainsKey("process.pid"));
        Assert.Equal(0.0, promoted.Value);
        Assert.Equal(100, promoted.Attributes["process.pid"]);
        Assert.Equal("web", promoted.Attributes["process.executable.name"]);

        // Interval 2: the pid series counts its 3 J; the executable series keeps its 4 J.
        Assert.Equal(3.0, second.Single(p => p.Attributes.ContainsKey("process.pid")).Value, 9);
        Assert.Equal(4.0, second.Single(p => !p.Attributes.ContainsKey("process.pid")).Value, 9);
        Assert.False(promoted.Attributes.ContainsKey("process.command_line"));
    }

    [Fact]
    public void Command_line_is_exported_only_when_opted_in()
    {
        using var harness = new MetricsHarness(o => o.IncludeCommandLine = true);
        var sequence = new SnapshotSequence();
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 4_000_000)]));
        var promoted = harness.CollectSettled()["otelpower.process.energy"].Single(p => p.Attributes.ContainsKey("process.pid"));
        Assert.Equal("secret --token=abc", promoted.Attributes["process.command_line"]);
    }

    [Fact]
    public void Kernel_threads_fold_into_one_series()
    {
        using var harness = new MetricsHarness(o => o.MaxProcessSeries = 0);
        var sequence = new SnapshotSequence();
        harness.Feed.Publish(sequence.Next(10_000_000, [(50, "kworker/0:1-events", 1_000_000), (51, "kworker/1:2-mm_percpu_wq", 2_000_000)], kernel: true));
        var series = Assert.Single(harness.CollectSettled()["otelpower.process.energy"]);
        Assert.Equal("[kernel]", series.Attributes["process.executable.name"]);
        Assert.Equal(3.0, series.Value, 9);
    }

    [Fact]
    public void Churning_ten_thousand_pids_never_overflows_and_the_books_balance_at_every_export()
    {
        const int Limit = 200;
        using var harness = new MetricsHarness(o =>
        {
            o.CardinalityLimit = Limit;
            o.MaxProcessSeries = 10;
            o.MaxExecutableSeries = 20;
        });
        var sequence = new SnapshotSequence();
        var planner = new ProcessSeriesPlanner(new PowerInstrumentationOptions { CardinalityLimit = Limit, MaxProcessSeries = 10, MaxExecutableSeries = 20 });
        var random = new Random(7);
        var live = new List<(int Pid, string Exe)>();
        var nextPid = 1000;
        var lastValueOfEverySeries = new Dictionary<string, double>();
        var seriesEver = new HashSet<string>();
        var maxTracked = 0;

        for (var interval = 0; interval < 200; interval++)
        {
            // 50 processes start and about as many exit each interval: 10,000 PIDs in all.
            live.RemoveAll(_ => random.NextDouble() < 0.5);
            for (var i = 0; i < 50; i++)
            {
                live.Add((nextPid++, "job-" + random.Next(0, 40)));
            }

            var shares = live.Select(p => (p.Pid, p.Exe, (long)random.Next(0, 200_000))).ToList();
            var snapshot = sequence.Next(shares.Sum(s => s.Item3) + random.Next(0, 5_000_000), shares);
            harness.Feed.Publish(snapshot);
            planner.Update(snapshot); // the same books, to see the state the instruments keep
            var metrics = harness.CollectSettled();

            var points = metrics["otelpower.process.energy"];
            Assert.DoesNotContain(metrics.Values.SelectMany(p => p), p => p.Attributes.ContainsKey("otel.metric.overflow"));
            foreach (var point in points)
            {
                var key = string.Join(",", point.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}"));
                Assert.True(point.Value >= lastValueOfEverySeries.GetValueOrDefault(key), $"series {key} went backwards");
                lastValueOfEverySeries[key] = point.Value;
                seriesEver.Add(key);
            }

            // Every joule is in exactly one series: the last value of every series ever exported, plus idle, is the host.
            var idle = metrics["otelpower.idle.energy"].Single().Value;
            Assert.Equal(sequence.HostTotal / 1e6, lastValueOfEverySeries.Values.Sum() + idle, 6);
            Assert.Equal(live.Count, planner.TrackedProcessCount);
            maxTracked = Math.Max(maxTracked, planner.TrackedProcessCount);
        }

        // The state follows the live processes (about 100 at a time), never the 10,000 that ran.
        Assert.Equal(10_000, nextPid - 1000);
        Assert.InRange(maxTracked, 50, 150);
        Assert.True(seriesEver.Count < Limit, $"{seriesEver.Count} series over a lifetime limit of {Limit}");
    }

    [Fact]
    public void State_follows_the_live_processes_so_memory_stays_flat()
    {
        var options = new PowerInstrumentationOptions { CardinalityLimit = 200, MaxProcessSeries = 10, MaxExecutableSeries = 20 };
        var planner = new ProcessSeriesPlanner(options);
        var sequence = new SnapshotSequence();
        var nextPid = 1;
        for (var interval = 0; interval < 500; interval++)
        {
            var live = Enumerable.Range(nextPid, 100).Select(pid => (pid, "job", 1_000L)).ToList();
            nextPid += 100; // every interval a whole new generation: 50,000 PIDs
            planner.Update(sequence.Next(1_000_000, live));
            Assert.Equal(100, planner.TrackedProcessCount);
        }

        Assert.True(planner.PidBudgetSpent);
        Assert.Equal(200 - 20 - 2, planner.PidSeriesCreated);
    }

    [Fact]
    public void Options_that_cannot_fit_the_limit_are_rejected()
    {
        // The options are final only when the provider is built (configuration and Configure(name, ...) apply).
        var builder = OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddPowerInstrumentation(new OtelPower.Attribution.AttributionFeed(), o => o.CardinalityLimit = 50);
        Assert.Throws<ArgumentException>(() => builder.Build());
    }
}

public sealed class ProcessFilterTests
{
    [Fact]
    public void An_application_metering_itself_exports_only_its_own_process_from_the_first_joule()
    {
        using var harness = new MetricsHarness(o => o.ProcessFilter = p => p.Pid == 42);
        var sequence = new SnapshotSequence();
        harness.Feed.Publish(sequence.Next(10_000_000, [(42, "shop-api", 2_000_000), (7, "other", 5_000_000)]));
        harness.Feed.Publish(sequence.Next(10_000_000, [(42, "shop-api", 1_000_000), (7, "other", 5_000_000)]));

        var metrics = harness.CollectSettled();
        var own = Assert.Single(metrics["otelpower.process.energy"]);
        Assert.Equal(42, own.Attributes["process.pid"]);
        Assert.Equal(3.0, own.Value, 9);
        Assert.Equal(20.0, Assert.Single(metrics["hw.host.energy"]).Value, 9);
    }
}
