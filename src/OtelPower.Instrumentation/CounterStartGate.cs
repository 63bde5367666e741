using System.Diagnostics.Metrics;

namespace OtelPower.Instrumentation;

/// <summary>
/// Makes every energy series start at zero and end on its final value, as an exporter sees them. A series
/// whose first exported value is not zero loses that value in PromQL's <c>increase()</c> (a short-lived pod
/// lost most of its joules so); a series that ends before its last joules were exported loses those.
/// </summary>
/// <remarks>
/// Views are built per sample but read per export (the SDK's collect, a Prometheus scrape), at another
/// cadence. So a new series is reported at 0 until a view holding that 0 has been collected, then at its
/// value, which by then includes its first interval: nothing is lost, it is credited on the next export.
/// A series that disappears is reported once more with its final value until a view holding it has been
/// collected. With two metric exporters (OTLP and Prometheus) a collect by either counts.
/// </remarks>
internal sealed class CounterStartGate
{
    private readonly Dictionary<KeyValuePair<string, object?>[], SeriesState> _series = new(AttributeSetComparer.Instance);
    private long _generation;

    /// <summary>Series followed; series that ended leave once their final value was collected.</summary>
    public int TrackedCount => _series.Count;

    /// <param name="measurements">This view's cumulative values, one per series.</param>
    /// <param name="previousViewCollected">Whether the view built last time has been read by a collect since.</param>
    public Measurement<double>[] Apply(IReadOnlyList<Measurement<double>> measurements, bool previousViewCollected)
    {
        _generation++;
        if (previousViewCollected)
        {
            foreach (var (key, state) in _series)
            {
                if (state.Ended && state.ReportedFinal)
                {
                    _series.Remove(key);
                    continue;
                }

                // Every series still followed was in that view: its zero (or its value) has been exported.
                state.Reported = true;
            }
        }

        var result = new List<Measurement<double>>(measurements.Count);
        var byAttributes = _series.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
        foreach (var measurement in measurements)
        {
            // A series already followed is found from the measurement's own attributes: nothing is copied or joined.
            if (!byAttributes.TryGetValue(measurement.Tags, out var state))
            {
                var tags = measurement.Tags.ToArray();
                state = new SeriesState(tags);
                _series[tags] = state;
            }

            state.Generation = _generation;
            state.Ended = false;
            state.Value = measurement.Value;
            result.Add(Report(state));
        }

        foreach (var state in _series.Values)
        {
            if (state.Generation != _generation)
            {
                state.Ended = true;
                result.Add(Report(state));
            }
        }

        return [.. result];
    }

    private static Measurement<double> Report(SeriesState state)
    {
        state.ReportedFinal = state.Ended && state.Reported;
        return new Measurement<double>(state.Reported ? state.Value : 0, state.Tags);
    }

    private sealed class SeriesState(KeyValuePair<string, object?>[] tags)
    {
        public KeyValuePair<string, object?>[] Tags { get; } = tags;

        public double Value { get; set; }

        public long Generation { get; set; }

        /// <summary>A view holding this series has been collected: from now on it reports its value.</summary>
        public bool Reported { get; set; }

        public bool Ended { get; set; }

        /// <summary>It ended and its final value was in the last view.</summary>
        public bool ReportedFinal { get; set; }
    }
}
