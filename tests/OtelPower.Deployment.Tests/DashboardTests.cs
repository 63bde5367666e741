using System.Text.Json;
using System.Text.RegularExpressions;

namespace OtelPower.Deployment.Tests;

public sealed partial class DashboardTests
{
    /// <summary>The Prometheus names of the agent's metrics (the public contract of issues 4 and 5).</summary>
    private static readonly HashSet<string> KnownMetrics = new(StringComparer.Ordinal)
    {
        "hw_energy_joules_total", "hw_power_watts",
        "hw_host_energy_joules_total", "hw_host_power_watts",
        "otelpower_process_energy_joules_total", "otelpower_process_power_watts",
        "otelpower_idle_energy_joules_total", "otelpower_idle_power_watts",
        "otelpower_container_energy_joules_total", "otelpower_container_power_watts",
        "otelpower_pod_energy_joules_total", "otelpower_pod_power_watts",
        "otelpower_vm_energy_joules_total", "otelpower_vm_power_watts",
        "otelpower_platform_other_energy_joules_total", "otelpower_platform_other_power_watts",
    };

    private static readonly IReadOnlyList<DashboardQuery> Queries = DashboardQueries.Load();

    private static JsonDocument Dashboard() => JsonDocument.Parse(File.ReadAllText(DashboardQueries.DashboardPath));

    private static IEnumerable<JsonElement> VisualPanels(JsonDocument dashboard) =>
        DashboardQueries.Panels(dashboard.RootElement).Where(p => p.GetProperty("type").GetString() != "row");

    [Fact]
    public void Every_panel_has_targets_and_every_target_an_expression()
    {
        using var dashboard = Dashboard();

        Assert.All(VisualPanels(dashboard), panel =>
        {
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.NotEmpty(targets);
            Assert.All(targets, t => Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString())));
        });
        Assert.True(Queries.Count >= 10);
    }

    [Fact]
    public void Panels_and_targets_use_the_datasource_variable()
    {
        using var dashboard = Dashboard();
        var variable = Assert.Single(
            dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray(),
            v => v.GetProperty("type").GetString() == "datasource");

        Assert.Equal("prometheus", variable.GetProperty("query").GetString());
        var uid = "${" + variable.GetProperty("name").GetString() + "}";
        foreach (var panel in VisualPanels(dashboard))
        {
            Assert.Equal(uid, panel.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.All(panel.GetProperty("targets").EnumerateArray(), t => Assert.Equal(uid, t.GetProperty("datasource").GetProperty("uid").GetString()));
        }
    }

    [Fact]
    public void Panel_ids_are_unique()
    {
        using var dashboard = Dashboard();
        var ids = DashboardQueries.Panels(dashboard.RootElement).Select(p => p.GetProperty("id").GetInt32()).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void Every_query_names_only_metrics_the_agent_exports()
    {
        Assert.All(Queries, q =>
        {
            var metrics = MetricName().Matches(q.Expression).Select(m => m.Value).ToList();
            Assert.NotEmpty(metrics);
            Assert.All(metrics, m => Assert.True(KnownMetrics.Contains(m), $"{q.PanelTitle}: unknown metric {m}"));
        });
    }

    [Fact]
    public void Every_query_has_balanced_brackets_and_quotes()
    {
        Assert.All(Queries, q =>
        {
            var depth = new Stack<char>();
            var inQuote = false;
            foreach (var c in q.Expression)
            {
                if (c == '"')
                {
                    inQuote = !inQuote;
                }
                else if (!inQuote && c is '(' or '{' or '[')
                {
                    depth.Push(c);
                }
                else if (!inQuote && c is ')' or '}' or ']')
                {
                    var open = depth.Pop();
                    Assert.Equal(c switch { ')' => '(', '}' => '{', _ => '[' }, open);
                }
            }

            Assert.False(inQuote, q.Expression);
            Assert.Empty(depth);
        });
    }

    [Fact]
    public void Template_variables_appear_only_inside_regex_matchers()
    {
        // So that "All" (.*) and multi-value selections ((a|b)) stay valid PromQL.
        Assert.All(Queries, q =>
        {
            var outside = RegexMatcher().Replace(q.Expression, "");
            Assert.Empty(DashboardQueries.TemplateVariablesIn(outside));
        });
    }

    [Fact]
    public void Template_variables_used_by_queries_are_defined()
    {
        using var dashboard = Dashboard();
        var defined = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Select(v => v.GetProperty("name").GetString()).ToHashSet();

        Assert.All(Queries.SelectMany(q => DashboardQueries.TemplateVariablesIn(q.Expression)), v => Assert.Contains(v, defined));
    }

    [Fact]
    public void Expanded_queries_leave_no_grafana_variable_behind()
    {
        Assert.All(Queries, q =>
        {
            var promql = DashboardQueries.ForPrometheus(q.Expression, TimeSpan.FromHours(1));
            Assert.DoesNotContain("$", promql, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Expansion_follows_grafana()
    {
        var promql = DashboardQueries.ForPrometheus(
            "sum(increase(x{a=~\"$node\", b=~\"${namespace}\"}[$__range])) / $__range_s + rate(y[$__rate_interval])",
            TimeSpan.FromHours(2));

        Assert.Equal("sum(increase(x{a=~\".*\", b=~\".*\"}[7200s])) / 7200 + rate(y[60s])", promql);
    }

    [Fact]
    public void Estimates_are_marked()
    {
        using var dashboard = Dashboard();
        var marker = Assert.Single(VisualPanels(dashboard), p =>
            p.GetProperty("type").GetString() == "stat"
            && p.GetProperty("gridPos").GetProperty("y").GetInt32() == 0
            && p.GetProperty("fieldConfig").GetRawText().Contains("\"ESTIMATE\"", StringComparison.Ordinal));
        var expr = Assert.Single(marker.GetProperty("targets").EnumerateArray()).GetProperty("expr").GetString()!;

        Assert.Contains("count(hw_host_power_watts{otelpower_source=\"estimate\"", expr, StringComparison.Ordinal);
        // No estimating node must read 0, not "No data".
        Assert.EndsWith("or vector(0)", expr, StringComparison.Ordinal);
        var steps = marker.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("thresholds").GetProperty("steps").EnumerateArray().ToList();
        Assert.Contains(steps, s => s.GetProperty("color").GetString() == "red" && s.GetProperty("value").ValueKind == JsonValueKind.Number && s.GetProperty("value").GetDouble() == 1);
    }

    [Fact]
    public void Watt_hours_per_namespace_come_from_the_pod_energy_counter_over_the_range()
    {
        var pies = Queries.Where(q => q.PanelType == "piechart").ToList();
        Assert.Equal(2, pies.Count);
        foreach (var pie in pies)
        {
            Assert.True(pie.Instant);
            Assert.StartsWith("sum by (k8s_namespace_name) (increase(otelpower_pod_energy_joules_total{", pie.Expression, StringComparison.Ordinal);
            Assert.EndsWith("[$__range])) / 3600", pie.Expression, StringComparison.Ordinal);
        }

        // One over every pool (a namespace's whole measured energy), one over the GPUs only.
        Assert.Single(pies, q => !q.Expression.Contains("hw_type", StringComparison.Ordinal));
        Assert.Single(pies, q => q.Expression.Contains("{hw_type=\"gpu\",", StringComparison.Ordinal));
    }

    [Fact]
    public void Gpu_panels_show_power_and_watt_hours_per_namespace_the_cpu_gpu_split_and_each_gpus_idle()
    {
        var gpu = Queries.Where(q => q.Expression.Contains("hw_type", StringComparison.Ordinal)).ToList();
        Assert.Contains(gpu, q => q.PanelType == "timeseries" && q.Expression.StartsWith("sum by (k8s_namespace_name) (otelpower_pod_power_watts{hw_type=\"gpu\",", StringComparison.Ordinal));
        Assert.Contains(gpu, q => q.Expression.StartsWith("sum by (k8s_namespace_name, hw_type) (otelpower_pod_power_watts{", StringComparison.Ordinal));
        Assert.Contains(gpu, q => q.Expression.StartsWith("sum by (host_name, hw_name) (otelpower_idle_power_watts{hw_type=\"gpu\",", StringComparison.Ordinal));

        // The idle share is the CPU pool's: GPU idle is not inside hw.host.power.
        Assert.All(Queries.Where(q => q.Expression.Contains("/ sum", StringComparison.Ordinal) && q.Expression.Contains("otelpower_idle_power_watts", StringComparison.Ordinal)),
            q => Assert.Contains("otelpower_idle_power_watts{hw_type=\"cpu\",", q.Expression, StringComparison.Ordinal));
    }

    [Fact]
    public void Grams_of_co2e_per_namespace_weigh_each_nodes_energy_by_its_carbon_intensity()
    {
        // Evaluated on series by CarbonRulesTests; here its shape.
        var grams = Assert.Single(Queries, q => q.Expression.Contains("otelpower_grid_carbon_intensity", StringComparison.Ordinal));

        Assert.True(grams.Instant);
        Assert.StartsWith("sum by (k8s_namespace_name) (increase(otelpower_pod_energy_joules_total{", grams.Expression, StringComparison.Ordinal);
        Assert.Contains("* on (k8s_cluster_name, host_name) group_left ()", grams.Expression, StringComparison.Ordinal);
        Assert.Contains("avg_over_time(otelpower_grid_carbon_intensity{", grams.Expression, StringComparison.Ordinal);
        Assert.EndsWith("[$__range]))) / 3.6e6", grams.Expression, StringComparison.Ordinal);
    }

    [Fact]
    public void Vm_panels_show_each_vms_power_and_watt_hours_from_the_cpu_pool()
    {
        var vm = Queries.Where(q => q.Expression.Contains("otelpower_vm_", StringComparison.Ordinal)).ToList();
        Assert.Contains(vm, q => q.PanelType == "timeseries" && q.Expression == "topk(10, sum by (host_name, otelpower_vm_name) (otelpower_vm_power_watts{hw_type=\"cpu\", host_name=~\"$node\"}))");
        Assert.Contains(vm, q => q.Instant && q.Expression.StartsWith("topk(10, sum by (host_name, otelpower_vm_name) (increase(otelpower_vm_energy_joules_total{hw_type=\"cpu\",", StringComparison.Ordinal));
    }

    [Fact]
    public void Node_power_splits_into_cpu_gpu_and_the_platforms_other()
    {
        var split = Queries.Where(q => q.PanelTitle == "Node power: CPU, GPU and the rest of the node").ToList();
        Assert.Equal(3, split.Count);
        Assert.Contains(split, q => q.Expression.Contains("hw_type=\"cpu\"", StringComparison.Ordinal));
        Assert.Contains(split, q => q.Expression.Contains("hw_power_watts{hw_type=\"gpu\"", StringComparison.Ordinal));
        Assert.Contains(split, q => q.Expression.Contains("otelpower_platform_other_power_watts", StringComparison.Ordinal));
    }

    [Fact]
    public void Power_per_namespace_is_shown_over_time()
    {
        Assert.Contains(Queries, q => q.PanelType == "timeseries"
            && q.Expression.StartsWith("sum by (k8s_namespace_name) (otelpower_pod_power_watts{", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("otelpower_pod_power_watts")]
    [InlineData("otelpower_container_power_watts")]
    [InlineData("otelpower_pod_energy_joules_total")]
    public void Top_consumers_are_ranked(string metric)
    {
        Assert.Contains(Queries, q => q.Expression.StartsWith("topk(", StringComparison.Ordinal) && q.Expression.Contains(metric, StringComparison.Ordinal));
    }

    [Fact]
    public void Node_power_shows_each_rapl_zone()
    {
        Assert.Contains(Queries, q => q.Expression.Contains("(host_name, hw_name) (hw_power_watts", StringComparison.Ordinal));
        Assert.Contains(Queries, q => q.Expression.Contains("otelpower_source) (hw_host_power_watts", StringComparison.Ordinal));
    }

    [Fact]
    public void Idle_share_divides_idle_power_by_host_power()
    {
        Assert.Contains(Queries, q => IdleShare().IsMatch(q.Expression));
    }

    [GeneratedRegex(@"\b(?:hw|otelpower)_[a-z_]*(?:_watts|_joules_total)\b")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"=~""[^""]*""")]
    private static partial Regex RegexMatcher();

    [GeneratedRegex(@"otelpower_idle_power_watts\{[^}]*\}\) / sum(?: by \(host_name\))? \(hw_host_power_watts")]
    private static partial Regex IdleShare();
}
