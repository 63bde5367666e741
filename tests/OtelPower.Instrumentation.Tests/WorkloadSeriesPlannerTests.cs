namespace OtelPower.Instrumentation.Tests;

/// <summary>Container and pod series: dedicated while the lifetime budget lasts, folded per namespace after.</summary>
public sealed class WorkloadSeriesPlannerTests
{
    // A budget of 10 dedicated attribute sets: 14 - 2 namespaces - "other" - the SDK's overflow slot.
    private static readonly PowerInstrumentationOptions Options = new() { CardinalityLimit = 14, MaxNamespaceSeries = 2, MaxProcessSeries = 0, MaxExecutableSeries = 1 };

    [Fact]
    public void Workloads_past_the_budget_fold_into_their_namespace_and_no_joule_is_lost()
    {
        var planner = new WorkloadSeriesPlanner(Options);
        var workloads = Enumerable.Range(0, 15).Select(i => ("c" + i, (string?)(i % 2 == 0 ? "shop" : "data"), "names-" + i, 1_000L * (i + 1), 1_000L * (i + 1))).ToList();

        var (dedicated, folded) = planner.Update(workloads);

        Assert.Equal(10, dedicated.Count);
        Assert.Equal(workloads.Take(10).Select(w => w.Item1), dedicated.Select(d => d.Id)); // first seen, first served
        Assert.Equal(10, planner.DedicatedSeriesCreated);
        Assert.Equal(["data", "shop"], folded.Select(f => f.Namespace).Order(StringComparer.Ordinal));
        Assert.Equal(workloads.Sum(w => w.Item5), dedicated.Sum(d => d.Total) + folded.Sum(f => f.Total));
    }

    [Fact]
    public void Namespaces_past_their_limit_share_other()
    {
        var planner = new WorkloadSeriesPlanner(Options);
        planner.Update(Enumerable.Range(0, 10).Select(i => ("fill" + i, (string?)"shop", "k" + i, 0L, 0L))); // spends the budget

        var (_, folded) = planner.Update([("a", "shop", "a", 1_000, 1_000), ("b", "data", "b", 2_000, 2_000), ("c", "billing", "c", 4_000, 4_000), ("d", "ml", "d", 8_000, 8_000)]);

        Assert.Equal(new Dictionary<string, long> { ["shop"] = 1_000, ["data"] = 2_000, ["other"] = 12_000 }, folded.ToDictionary(f => f.Namespace, f => f.Total));
    }

    [Fact]
    public void Names_that_arrive_later_start_a_new_series_from_that_interval()
    {
        var planner = new WorkloadSeriesPlanner(Options);
        var (first, _) = planner.Update([("c1", null, "id-only", 3_000, 3_000)]);
        var (second, _) = planner.Update([("c1", "shop", "id+names", 5_000, 2_000)]);
        var (third, _) = planner.Update([("c1", "shop", "id+names", 6_000, 1_000)]);

        // The id-only series ends at 3 mJ; the named one counts 2 + 1 mJ: together the container's 6 mJ.
        Assert.Equal(3_000, Assert.Single(first).Total);
        Assert.Equal(2_000, Assert.Single(second).Total);
        Assert.Equal(3_000, Assert.Single(third).Total);
        Assert.Equal(2, planner.DedicatedSeriesCreated); // two attribute sets: two SDK series
    }

    [Fact]
    public void Renamed_workloads_never_take_more_series_than_the_budget()
    {
        var planner = new WorkloadSeriesPlanner(Options);
        var attributeSets = new HashSet<(string Id, string Key)>();
        var energy = new Dictionary<string, long>();
        long booked = 0, lastFolded = 0;
        var seriesTotals = new Dictionary<(string, string), long>();

        // Every container is first seen without names and named one interval later: 2 attribute sets each.
        for (var interval = 0; interval < 20; interval++)
        {
            var live = new List<(string Id, string? Namespace, string AttributeKey, long Total, long Interval)>();
            foreach (var id in new[] { "c" + interval, "c" + (interval - 1) }.Where(id => id != "c-1"))
            {
                var named = id != "c" + interval;
                energy[id] = energy.GetValueOrDefault(id) + 1_000;
                booked += 1_000;
                live.Add((id, named ? "shop" : null, named ? id + "+names" : id, energy[id], 1_000));
            }

            var (dedicated, folded) = planner.Update(live);
            foreach (var (id, total, _) in dedicated)
            {
                var key = live.Single(w => w.Id == id).AttributeKey;
                attributeSets.Add((id, key));
                seriesTotals[(id, key)] = total;
            }

            lastFolded = folded.Sum(f => f.Total);

            // Every joule in exactly one series: the last value of every series ever reported, plus the folds.
            Assert.Equal(booked, seriesTotals.Values.Sum() + lastFolded);
        }

        Assert.Equal(10, attributeSets.Count);
        Assert.Equal(10, planner.DedicatedSeriesCreated);
        Assert.True(lastFolded > 0, "later containers folded once the budget was spent");
    }

    [Fact]
    public void State_follows_the_live_workloads()
    {
        var planner = new WorkloadSeriesPlanner(Options);
        for (var interval = 0; interval < 100; interval++)
        {
            planner.Update(Enumerable.Range(interval * 3, 3).Select(i => ("c" + i, (string?)"shop", "k" + i, 10L, 10L)));
            Assert.Equal(3, planner.TrackedCount);
        }
    }
}
