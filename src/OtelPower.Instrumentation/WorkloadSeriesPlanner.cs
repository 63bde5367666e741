namespace OtelPower.Instrumentation;

/// <summary>
/// Series for containers or pods. Each gets its own series when first seen, while the lifetime budget
/// lasts; after that, new ones fold into one series per namespace (pod or container attribute "other"),
/// so <c>sum by (k8s_namespace_name)</c> stays exact however many short-lived pods a node runs.
/// </summary>
/// <remarks>
/// The budget counts attribute sets, not ids: the SDK keys a series by its attributes, so a container
/// whose names arrive after it was first seen (the Kubernetes API answers later than cgroups) spends a
/// second slot. Its new series starts from that interval's joules, so the old series' last value plus the
/// new one is the container's energy; once the budget is spent, a renamed workload folds into its namespace.
/// </remarks>
internal sealed class WorkloadSeriesPlanner
{
    private readonly int _seriesBudget;
    private readonly int _maxNamespaces;
    private readonly Dictionary<string, WorkloadState> _live = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _namespaces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _namespaceIntervals = new(StringComparer.Ordinal);

    public WorkloadSeriesPlanner(PowerInstrumentationOptions options)
    {
        _maxNamespaces = options.MaxNamespaceSeries;

        // One slot per namespace aggregate, one for "other", one kept free for the SDK's overflow series.
        _seriesBudget = options.CardinalityLimit - options.MaxNamespaceSeries - 2;
    }

    /// <summary>Dedicated attribute sets created over the planner's lifetime (each an SDK series slot).</summary>
    public int DedicatedSeriesCreated { get; private set; }

    /// <summary>Workloads tracked; follows the live ones.</summary>
    public int TrackedCount => _live.Count;

    /// <summary>
    /// Books one snapshot: each workload (id, namespace, the key of its attribute set, total and interval µJ)
    /// to its series. A dedicated series reports its joules since it began.
    /// </summary>
    public (List<(string Id, long Total, long Interval)> Dedicated, List<(string Namespace, long Total, long Interval)> Folded) Update(
        IEnumerable<(string Id, string? Namespace, string AttributeKey, long Total, long Interval)> workloads)
    {
        var dedicated = new List<(string, long, long)>();
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in _namespaceIntervals.Keys.ToList())
        {
            _namespaceIntervals[key] = 0;
        }

        foreach (var (id, ns, attributeKey, total, interval) in workloads)
        {
            live.Add(id);
            if (!_live.TryGetValue(id, out var state))
            {
                // Decided when first seen: a series never moves, so no joule is counted twice.
                state = new WorkloadState { HasSeries = TrySpendSeries(), AttributeKey = attributeKey };
                _live[id] = state;
            }
            else if (state.HasSeries && state.AttributeKey != attributeKey)
            {
                // New attributes are a new SDK series: it counts from this interval on, or, past the budget,
                // the workload's joules from now on go to its namespace.
                state.AttributeKey = attributeKey;
                state.HasSeries = TrySpendSeries();
                state.OffsetMicrojoules = total - interval;
            }

            if (state.HasSeries)
            {
                dedicated.Add((id, total - state.OffsetMicrojoules, interval));
                continue;
            }

            var foldedNamespace = ns ?? string.Empty;
            if (!_namespaces.ContainsKey(foldedNamespace) && _namespaces.Count >= _maxNamespaces)
            {
                foldedNamespace = SemanticConventions.Other;
            }

            _namespaces[foldedNamespace] = _namespaces.GetValueOrDefault(foldedNamespace) + interval;
            _namespaceIntervals[foldedNamespace] = _namespaceIntervals.GetValueOrDefault(foldedNamespace) + interval;
        }

        foreach (var id in _live.Keys)
        {
            if (!live.Contains(id))
            {
                _live.Remove(id);
            }
        }

        var folded = _namespaces.Select(n => (n.Key, n.Value, _namespaceIntervals.GetValueOrDefault(n.Key))).ToList();
        return (dedicated, folded);
    }

    private bool TrySpendSeries()
    {
        if (DedicatedSeriesCreated >= _seriesBudget)
        {
            return false;
        }

        DedicatedSeriesCreated++;
        return true;
    }

    private sealed class WorkloadState
    {
        public bool HasSeries { get; set; }

        public string AttributeKey { get; set; } = string.Empty;

        public long OffsetMicrojoules { get; set; }
    }
}
