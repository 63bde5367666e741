namespace OtelPower.Instrumentation.Tests;

/// <summary>
/// Every energy series is exported at zero before it carries joules, and once more with its final joules
/// after its consumer goes, so PromQL's increase() over the scraped series sees every joule.
/// </summary>
public sealed class CounterStartGateTests
{
    [Fact]
    public void A_new_series_is_exported_at_zero_first_and_its_first_joules_are_credited_on_the_next_export()
    {
        using var harness = new MetricsHarness();
        var sequence = new SnapshotSequence();
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 4_000_000)]));

        var first = harness.Collect();
        Assert.All(first["hw.host.energy"].Concat(first["otelpower.process.energy"]).Concat(first["hw.energy"]).Concat(first["otelpower.idle.energy"]),
            p => Assert.Equal(0.0, p.Value));
        Assert.Equal(10.0, Assert.Single(first["hw.host.power"]).Value, 9); // gauges are not held back

        // No new sample, but the zero has been exported: the next export carries the first interval.
        var second = harness.Collect();
        Assert.Equal(10.0, Assert.Single(second["hw.host.energy"]).Value, 9);
        Assert.Equal(4.0, second["otelpower.process.energy"].Single(p => !p.Attributes.ContainsKey("process.pid")).Value, 9);
    }

    [Fact]
    public void A_series_seen_first_between_two_exports_still_starts_at_zero()
    {
        using var harness = new MetricsHarness();
        var sequence = new SnapshotSequence();
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 4_000_000)]));
        harness.CollectSettled();

        // db appears and burns for two samples before anyone collects: its first export is still 0.
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 1_000_000), (200, "db", 2_000_000)]));
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 1_000_000), (200, "db", 2_000_000)]));
        var exported = harness.Collect()["otelpower.process.energy"];
        Assert.Equal(0.0, exported.Single(p => (string?)p.Attributes["process.executable.name"] == "db" && !p.Attributes.ContainsKey("process.pid")).Value);
        Assert.Equal(4.0, exported.Single(p => (string?)p.Attributes["process.executable.name"] == "web" && !p.Attributes.ContainsKey("process.pid")).Value, 9);
        Assert.Equal(2.0, exported.Single(p => p.Attributes.ContainsKey("process.pid") && (int?)p.Attributes["process.pid"] == 100).Value, 9); // web's series goes on

        // Credited on the next export: 2 J in db's executable series (its first interval), 2 J in its pid series.
        var next = harness.Collect()["otelpower.process.energy"];
        Assert.Equal(2.0, next.Single(p => (string?)p.Attributes["process.executable.name"] == "db" && !p.Attributes.ContainsKey("process.pid")).Value, 9);
        Assert.Equal(2.0, next.Single(p => p.Attributes.ContainsKey("process.pid") && (int?)p.Attributes["process.pid"] == 200).Value, 9);
    }

    [Fact]
    public void A_consumer_that_goes_is_exported_once_more_with_its_final_joules_and_then_its_series_ends()
    {
        using var harness = new MetricsHarness();
        var sequence = new SnapshotSequence();
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 4_000_000)]));
        harness.CollectSettled();
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 3_000_000)])); // the pid series counts 3 J
        harness.Feed.Publish(sequence.Next(10_000_000, [(100, "web", 2_000_000)])); // 5 J, never exported yet
        harness.Feed.Publish(sequence.Next(10_000_000, [])); // web exits

        var last = harness.Collect()["otelpower.process.energy"];
        var final = Assert.Single(last, p => p.Attributes.ContainsKey("process.pid"));
        Assert.Equal(5.0, final.Value, 9);

        harness.Feed.Publish(sequence.Next(10_000_000, []));
        var after = harness.CollectSettled();
        Assert.DoesNotContain(after.GetValueOrDefault("otelpower.process.energy") ?? [], p => p.Attributes.ContainsKey("process.pid"));
    }
}
