using System.Text.RegularExpressions;
using OtelPower.Agent.Cli;

namespace OtelPower.Agent.Tests;

public sealed partial class CommandLineTests
{
    [Fact]
    public void Known_options_become_configuration_keys()
    {
        var parsed = CommandLine.Parse(["--procfs", "/host/proc", "--sysfs=/host/sys", "--interval", "0.5", "--samples", "3", "--top", "5", "--include-cmdline"]);

        Assert.Empty(parsed.Errors);
        Assert.Equal(AgentCommand.Run, parsed.Command);
        Assert.Equal("/host/proc", parsed.Settings["Procfs"]);
        Assert.Equal("/host/sys", parsed.Settings["Sysfs"]);
        Assert.Equal("0.5", parsed.Settings["Interval"]);
        Assert.Equal("3", parsed.Settings["Samples"]);
        Assert.Equal("5", parsed.Settings["Top"]);
        Assert.Equal("true", parsed.Settings["IncludeCmdline"]);
    }

    [Fact]
    public void Options_not_given_set_no_key_so_configuration_and_the_environment_still_apply()
    {
        var parsed = CommandLine.Parse(["--top", "5"]);
        Assert.Equal(["Top"], parsed.Settings.Keys);
    }

    [Fact]
    public void A_value_starting_with_at_is_a_value_not_a_response_file()
    {
        var parsed = CommandLine.Parse(["--procfs", "@host-proc"]);
        Assert.Empty(parsed.Errors);
        Assert.Equal("@host-proc", parsed.Settings["Procfs"]);
    }

    [Fact]
    public void Repeated_exporter_options_make_a_list()
    {
        var parsed = CommandLine.Parse(["--exporter", "console", "--exporter", "json"]);
        Assert.Equal("console,json", parsed.Settings["Exporter"]);
    }

    [Fact]
    public void A_repeated_option_keeps_its_last_value_and_a_repeated_flag_is_still_a_flag()
    {
        // A wrapper script's defaults followed by the caller's arguments: the later wins.
        var parsed = CommandLine.Parse(["--interval", "1", "--include-cmdline", "--interval", "2", "--include-cmdline", "--kubernetes=false"]);

        Assert.Empty(parsed.Errors);
        Assert.Equal("2", parsed.Settings["Interval"]);
        Assert.Equal("true", parsed.Settings["IncludeCmdline"]);
        Assert.Equal("false", parsed.Settings["Kubernetes"]);
    }

    [Theory]
    [InlineData(new[] { "--interval", "fast" }, "--interval expects a number")]
    [InlineData(new[] { "--interval", "1", "--interval", "fast" }, "--interval expects a number")]
    [InlineData(new[] { "--samples", "1.5" }, "--samples expects a whole number")]
    [InlineData(new[] { "--procfs" }, "--procfs needs a value")]
    [InlineData(new[] { "--procfs=" }, "--procfs needs a value")]
    [InlineData(new[] { "--procfs", "--sysfs", "/x" }, "--procfs needs a value")]
    [InlineData(new[] { "--procfs", "--frobnicate" }, "--procfs needs a value")]
    [InlineData(new[] { "--frobnicate" }, "'--frobnicate'")]
    [InlineData(new[] { "stray" }, "'stray'")]
    [InlineData(new[] { "--include-cmdline", "stray" }, "'stray'")]
    [InlineData(new[] { "--exporter", "console", "json" }, "'json'")]
    [InlineData(new[] { "bench", "--exporter", "json" }, "'--exporter'")]
    [InlineData(new[] { "bench", "--iterations", "0" }, "--iterations must be 1 or more")]
    [InlineData(new[] { "bench", "--iterations", "many" }, "'many'")]
    public void Bad_arguments_are_named_in_the_error(string[] args, string expected)
    {
        var parsed = CommandLine.Parse(args);
        Assert.Contains(parsed.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Help_wins_over_a_half_typed_command_line()
    {
        Assert.Equal(AgentCommand.Help, CommandLine.Parse(["--procfs", "--help"]).Command);
        Assert.Equal(AgentCommand.Help, CommandLine.Parse(["-h"]).Command);
        Assert.Empty(CommandLine.Parse(["--frobnicate", "--help"]).Errors);
        Assert.Equal(AgentCommand.Version, CommandLine.Parse(["--version"]).Command);
    }

    [Fact]
    public void Help_lists_exactly_the_options_the_readme_documents()
    {
        Assert.Equal(AgentCommand.Help, CommandLine.Parse(["--help"]).Command);

        // The help's option rows ("  --procfs <PATH>   ...") against the README's options table
        // ("| `--procfs PATH` | ..."): two texts a user reads, not the list that generates the help.
        var help = Invoke("--help").Output.Split('\n')
            .TakeWhile(l => !l.StartsWith("Commands:", StringComparison.Ordinal))
            .Where(l => l.StartsWith("  -", StringComparison.Ordinal))
            .SelectMany(l => OptionNames().Matches(l.Split("  ", 3, StringSplitOptions.RemoveEmptyEntries)[0]).Select(m => m.Value));
        var readme = File.ReadLines(Deployment.Tests.RepositoryRoot.Combine("README.md"))
            .Where(l => l.StartsWith("| `--", StringComparison.Ordinal))
            .SelectMany(l => OptionNames().Matches(l.Split('|')[1]).Select(m => m.Value));

        Assert.Equal(readme.Order(StringComparer.Ordinal), help.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Help_is_System_CommandLines_with_each_option_its_value_and_its_meaning()
    {
        var (exitCode, help, _) = Invoke("--help");

        Assert.Equal(0, exitCode);
        // System.CommandLine's layout and its own rows for the options it adds.
        Assert.Contains("Usage:", help, StringComparison.Ordinal);
        Assert.Matches(@"\n  -\?, -h, --help +Show help and usage information\n", help);
        Assert.Matches(@"\n  --version +Show version information\n", help);
        Assert.Matches(@"\n  bench +Measure what one sample of this host costs", help);
        // The agent's options, each with its value placeholder and description.
        Assert.Matches(@"\n  --procfs <PATH> +procfs root to read CPU time from \(default /proc\)\n", help);
        Assert.Matches(@"\n  --exporter <LIST> +console, json, otlp, prometheus; comma-separated or repeated", help);
        Assert.Matches(@"\n  --include-cmdline +read and export command lines", help);
        Assert.Matches(@"\n  --nvml-library <PATH> +NVIDIA NVML library", help);
        Assert.Contains("OTELPOWER_ environment variable", help, StringComparison.Ordinal);
        Assert.Contains("2 bad command line", help, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_help_lists_its_own_options()
    {
        var (exitCode, help, _) = Invoke("bench", "--help");

        Assert.Equal(0, exitCode);
        Assert.Matches(@"\n  --iterations <N> +samples to measure, after as many to warm up \[default: 50\]\n", help);
        Assert.Matches(@"\n  --procfs <PATH> +procfs root", help);
        Assert.DoesNotContain("--exporter", help, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("otelpower --exporter ", new[] { "console", "json", "otlp", "prometheus" })]
    [InlineData("otelpower --exporter p", new[] { "prometheus" })]
    [InlineData("otelpower --exporter console,", new[] { "console,json", "console,otlp", "console,prometheus" })]
    [InlineData("otelpower --otlp-protocol ", new[] { "grpc", "http/protobuf" })]
    [InlineData("otelpower --vm-p", new[] { "--vm-powercap" })]
    [InlineData("otelpower be", new[] { "bench" })]
    [InlineData("otelpower bench --it", new[] { "--iterations" })]
    public void The_suggest_directive_completes_options_commands_and_values(string line, string[] startingWithTheWord)
    {
        var parsed = CommandLine.Parse([$"[suggest:{line.Length}]", line]);
        Assert.Equal(AgentCommand.Complete, parsed.Command);

        var (exitCode, output, _) = Invoke($"[suggest:{line.Length}]", line);

        // System.CommandLine offers every candidate that contains the word, those that start with it first
        // ("p" offers prometheus, then otlp); the shell narrows them further.
        Assert.Equal(0, exitCode);
        var word = line[(line.LastIndexOf(' ') + 1)..];
        var candidates = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(startingWithTheWord, candidates.Take(startingWithTheWord.Length));
        Assert.Equal(startingWithTheWord, candidates.Where(c => c.StartsWith(word, StringComparison.Ordinal)));
        Assert.All(candidates, c => Assert.Contains(word, c, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_option_sets_a_property_of_the_agent_options()
    {
        // A configuration key that names no property is bound to nothing: the option would be silently ignored.
        var properties = typeof(AgentOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Assert.All(CommandLine.Options, o => Assert.Contains(o.ConfigurationKey, properties));
    }

    [Fact]
    public void Every_configuration_key_of_the_agent_options_is_reachable_from_an_option()
    {
        // Parse each option the parser knows with a value, bind the configuration the agent builds from it, and
        // see which property moved: the options' reach, measured through System.CommandLine and the binder.
        var help = Invoke("--help").Output;
        var names = OptionNames().Matches(help).Select(m => m.Value).Distinct().Except(["--help", "--version"]).ToArray();
        var baseline = Bound(new Dictionary<string, string?>());
        var reached = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var parsed = CommandLine.Parse(CommandLine.Options.Single(o => o.Name == name).TakesValue ? [name, "7"] : [name]);
            Assert.Empty(parsed.Errors);
            var bound = Bound(parsed.Settings);
            var moved = ScalarProperties().Where(p => !Equals(p.GetValue(bound), p.GetValue(baseline))).Select(p => p.Name).ToArray();
            Assert.True(moved.Length == 1, $"{name} moved {moved.Length} properties: {string.Join(", ", moved)}");
            reached.Add(moved[0]);
        }

        // Configuration only, as the README says: the Prometheus interface, the series cap and the estimator's model.
        string[] configurationOnly = [nameof(AgentOptions.PrometheusHost), nameof(AgentOptions.MaxProcessSeries), nameof(AgentOptions.Estimator)];
        var readme = File.ReadAllText(Deployment.Tests.RepositoryRoot.Combine("README.md"));
        Assert.All(configurationOnly, key => Assert.Contains($"`{key}", readme, StringComparison.Ordinal));
        var properties = typeof(AgentOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).Except(configurationOnly);
        Assert.Equal(properties.Order(StringComparer.Ordinal), reached.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Bench_takes_its_iterations_and_the_options_that_decide_what_a_sample_reads()
    {
        var parsed = CommandLine.Parse(["bench", "--iterations", "10", "--procfs", "/host/proc", "--cgroupfs", ""]);

        Assert.Empty(parsed.Errors);
        Assert.Equal(AgentCommand.Bench, parsed.Command);
        Assert.Equal(10, parsed.BenchIterations);
        Assert.Equal("/host/proc", parsed.Settings["Procfs"]);
        Assert.Equal(string.Empty, parsed.Settings["Cgroupfs"]);
        Assert.Equal(50, CommandLine.Parse(["bench"]).BenchIterations);
    }

    // Values, not sections (Estimator is a section of its own, bound to a new object each time).
    private static IEnumerable<System.Reflection.PropertyInfo> ScalarProperties() =>
        typeof(AgentOptions).GetProperties().Where(p => p.CanWrite && (p.PropertyType.IsValueType || p.PropertyType == typeof(string)));

    private static AgentOptions Bound(IReadOnlyDictionary<string, string?> settings) =>
        AgentHost.BindOptions(AgentHost.BuildConfiguration(settings));

    private static (int ExitCode, string Output, string Error) Invoke(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = CommandLine.Parse(args).Invoke(output, error);
        return (exitCode, output.ToString().ReplaceLineEndings("\n"), error.ToString());
    }

    [GeneratedRegex("--[a-z][a-z-]*")]
    private static partial Regex OptionNames();
}

public sealed class OptionalPathTests
{
    [Fact]
    public void Empty_cgroupfs_turns_containers_off_but_a_missing_value_is_still_an_error()
    {
        Assert.Equal(string.Empty, CommandLine.Parse(["--cgroupfs", ""]).Settings["Cgroupfs"]);
        Assert.Null(new AgentOptions { Cgroupfs = "" }.ToSensorOptions().CgroupfsRoot);
        Assert.Contains(CommandLine.Parse(["--cgroupfs", "--top", "3"]).Errors, e => e.Contains("--cgroupfs needs a value", StringComparison.Ordinal));
    }
}
