using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace OtelPower.Deployment.Tests;

/// <summary>
/// otel-collector/prometheus/carbon.rules.yaml with Debian's promtool (the prometheus package; .ci/run
/// installs it): the rules' own unit tests, and the dashboard's grams-per-namespace panel evaluated by
/// promtool on the same series, so panel and rules agree on the numbers.
/// </summary>
public sealed class CarbonRulesTests
{
    public const string Promtool = "/usr/bin/promtool";

    private static string RulesFolder => RepositoryRoot.Combine("otel-collector", "prometheus");

    private const string RulesFile = "carbon.rules.yaml";

    private const string TestFile = "carbon.rules.test.yaml";

    [Fact]
    public void The_rules_are_valid()
    {
        var result = Run(RulesFolder, "check", "rules", RulesFile);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
    }

    [Fact]
    public void The_rules_pass_their_promtool_tests()
    {
        var result = Run(RulesFolder, "test", "rules", TestFile);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains("SUCCESS", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_rule_records_a_level_metric_operation_name_and_is_tested()
    {
        var rules = YamlFiles.LoadSingleMapping(Path.Combine(RulesFolder, RulesFile));
        var tests = File.ReadAllText(Path.Combine(RulesFolder, TestFile));
        var records = rules.Sequence("groups").SelectMany(g => g.Sequence("rules")).Select(r => r.Text("record")!).ToList();

        Assert.NotEmpty(records);
        Assert.All(records, record =>
        {
            Assert.Equal(3, record.Split(':').Length);
            Assert.Contains($"- expr: {record}", tests, StringComparison.Ordinal);
        });
        foreach (var level in new[] { "pod", "namespace" })
        {
            Assert.Contains($"{level}:otelpower_co2e_grams:rate5m", records);
            Assert.Contains($"{level}:otelpower_co2e_grams:increase1h", records);
        }
    }

    [Fact]
    public void The_dashboard_panel_gives_the_grams_per_namespace_the_rules_give()
    {
        var panel = Assert.Single(DashboardQueries.Load(), q => q.PanelTitle.StartsWith("Grams CO2e per namespace", StringComparison.Ordinal));
        var promql = DashboardQueries.ForPrometheus(panel.Expression, TimeSpan.FromHours(1));
        using var folder = new TestFolder();

        // The rules' test series, with the panel's query and the totals carbon.rules.test.yaml states
        // for namespace:otelpower_co2e_grams:increase1h.
        var rulesTest = YamlFiles.LoadSingleMapping(Path.Combine(RulesFolder, TestFile));
        var series = Assert.Single(rulesTest.Sequence("tests")).Sequence("input_series");
        var text = new StringBuilder();
        text.AppendLine("rule_files: []")
            .AppendLine("evaluation_interval: 1m")
            .AppendLine("tests:")
            .AppendLine("  - interval: 1m")
            .AppendLine("    input_series:");
        foreach (var entry in series)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"      - series: '{entry.Text("series")}'")
                .AppendLine(CultureInfo.InvariantCulture, $"        values: '{entry.Text("values")}'");
        }

        text.AppendLine("    promql_expr_test:")
            .AppendLine(CultureInfo.InvariantCulture, $"      - expr: '{promql}'")
            .AppendLine("        eval_time: 60m")
            .AppendLine("        exp_samples:")
            .AppendLine("          - labels: '{k8s_namespace_name=\"shop\"}'")
            .AppendLine("            value: 161.7")
            .AppendLine("          - labels: '{k8s_namespace_name=\"batch\"}'")
            .AppendLine("            value: 72");
        File.WriteAllText(Path.Combine(folder.Path, "panel.test.yaml"), text.ToString());

        var result = Run(folder.Path, "test", "rules", "panel.test.yaml");

        Assert.True(result.ExitCode == 0, $"{promql}\n{result.Output}{result.Error}");
    }

    private static CommandResult Run(string workingDirectory, params string[] arguments)
    {
        Assert.True(File.Exists(Promtool), $"{Promtool} is missing: install Debian's prometheus package (.ci/run does)");
        var start = new ProcessStartInfo(Promtool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "promtool ran over 60 s");
        return new CommandResult(process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }

    private sealed class TestFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("otelpower-carbon-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
