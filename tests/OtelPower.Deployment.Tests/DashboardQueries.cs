using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OtelPower.Deployment.Tests;

/// <summary>One PromQL query of a dashboard panel, as Grafana stores it (variables unexpanded).</summary>
public sealed record DashboardQuery(string PanelTitle, string PanelType, string RefId, string Expression, bool Instant);

/// <summary>
/// The PromQL of the Grafana dashboards, for tests that check it statically and for end-to-end
/// tests that run every query against a real Prometheus (<see cref="ForPrometheus"/>).
/// </summary>
public static partial class DashboardQueries
{
    public static string DashboardPath => RepositoryRoot.Combine("otel-collector", "grafana", "dashboards", "otelpower.json");

    public static IReadOnlyList<DashboardQuery> Load() => Load(DashboardPath);

    /// <summary>Every panel target of the dashboard at <paramref name="path"/>, rows' nested panels included.</summary>
    public static IReadOnlyList<DashboardQuery> Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var queries = new List<DashboardQuery>();
        foreach (var panel in Panels(document.RootElement))
        {
            if (!panel.TryGetProperty("targets", out var targets))
            {
                continue;
            }

            var title = panel.TryGetProperty("title", out var t) ? t.GetString() ?? "" : "";
            var type = panel.TryGetProperty("type", out var ty) ? ty.GetString() ?? "" : "";
            foreach (var target in targets.EnumerateArray())
            {
                var expr = target.TryGetProperty("expr", out var e) ? e.GetString() ?? "" : "";
                var refId = target.TryGetProperty("refId", out var r) ? r.GetString() ?? "" : "";
                var instant = target.TryGetProperty("instant", out var i) && i.ValueKind == JsonValueKind.True;
                queries.Add(new DashboardQuery(title, type, refId, expr, instant));
            }
        }

        return queries;
    }

    /// <summary>Every panel of a dashboard, depth first, including the panels inside collapsed rows.</summary>
    public static IEnumerable<JsonElement> Panels(JsonElement dashboard)
    {
        if (!dashboard.TryGetProperty("panels", out var panels))
        {
            yield break;
        }

        foreach (var panel in panels.EnumerateArray())
        {
            yield return panel;
            foreach (var nested in Panels(panel))
            {
                yield return nested;
            }
        }
    }

    /// <summary>
    /// The expression as Grafana would send it with the time range <paramref name="range"/> and every
    /// template variable set to All: <c>$__range</c> becomes e.g. <c>3600s</c>, <c>$__range_s</c>
    /// <c>3600</c>, <c>$__rate_interval</c> and <c>$__interval</c> <paramref name="rateInterval"/>
    /// (default 1m), and <c>$node</c>, <c>${namespace}</c>... <c>.*</c> (the dashboard's allValue;
    /// the variables only appear inside <c>=~"..."</c> matchers).
    /// </summary>
    public static string ForPrometheus(string expression, TimeSpan range, TimeSpan? rateInterval = null)
    {
        var rangeSeconds = ((long)range.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        var rateSeconds = ((long)(rateInterval ?? TimeSpan.FromMinutes(1)).TotalSeconds).ToString(CultureInfo.InvariantCulture);

        var expanded = BuiltinVariable().Replace(expression, match => match.Groups["name"].Value switch
        {
            "__range_s" => rangeSeconds,
            "__range" => rangeSeconds + "s",
            "__rate_interval" or "__interval" => rateSeconds + "s",
            var other => throw new ArgumentException($"Unsupported Grafana variable ${other} in: {expression}", nameof(expression)),
        });

        return TemplateVariable().Replace(expanded, ".*");
    }

    /// <summary>The dashboard's own template variables referenced by <paramref name="expression"/> ($node, ${namespace}).</summary>
    public static IEnumerable<string> TemplateVariablesIn(string expression) =>
        TemplateVariable().Matches(expression).Select(m => m.Groups["name"].Value).Distinct();

    [GeneratedRegex(@"\$\{?(?<name>__[a-z_]+)\}?")]
    private static partial Regex BuiltinVariable();

    [GeneratedRegex(@"\$\{?(?<name>[A-Za-z][A-Za-z0-9_]*)\}?")]
    private static partial Regex TemplateVariable();
}
