namespace OtelPower.Instrumentation;

/// <summary>
/// Series for containers or pods. Each gets its own series when first seen, while the lifetime budget
/// lasts; after that, new ones fold into one series per namespace (pod or container attribute "other"),
/// so <c>sum by (k8s_namespace_name)</c> stays exact however many short-lived pods a node runs.
/// </summary>
internal sealed class WorkloadSeriesPlanner
{
    private readonly int _dedicatedBudget;
    private readonly int _maxNamespaces;
    private readonly Dictionary<string, bool> _live = new(StringComparer.Ordinal); // id -> has a dedicated series
    private readonly Dictionary<string, long> _namespaces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _namespaceIntervals = new(StringComparer.Ordinal);

    public WorkloadSeriesPlanner(PowerInstrumentationOptions options)
    {
        _maxNamespaces = options.MaxNamespaceSeries;
        _dedicatedBudget = options.CardinalityLimit - options.MaxNamespaceSeries - 2;
    }

    public int DedicatedSeriesCreated { get; private set; }

    /// <summary>Books one snapshot: each workload (id, namespace, total and interval µJ) to its series.</summary>
    public (List<(string Id, long Total, long Interval)> Dedicated, List<(string Namespace, long Total, long Interval)> Folded) Update(
        IEnumerable<(string Id, string? Namespace, long Total, long Interval)> workloads)
    {
        var dedicated = new List<(string, long, long)>();
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in _namespaceIntervals.Keys.ToList())
        {
            _namespaceIntervals[key] = 0;
        }

        foreach (var (id, ns, total, interval) in workloads)
        {
            live.Add(id);
            if (!_live.TryGetValue(id, out var hasSeries))
            {
                // Decided once, when first seen: a series never moves, so no joule is counted twice.
                hasSeries = DedicatedSeriesCreated < _dedicatedBudget;
                DedicatedSeriesCreated += hasSeries ? 1 : 0;
                _live[id] = hasSeries;
            }

            if (hasSeries)
            {
                dedicated.Add((id, total, interval));
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
}
