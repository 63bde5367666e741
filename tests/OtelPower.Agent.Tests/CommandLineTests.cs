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
    public void Repeated_exporter_options_make_a_list()
    {
        var parsed = CommandLine.Parse(["--exporter", "console", "--exporter", "json"]);
        Assert.Equal("console,json", parsed.Settings["Exporter"]);
    }

    [Theory]
    [InlineData(new[] { "--interval", "fast" }, "--interval expects a number")]
    [InlineData(new[] { "--samples", "1.5" }, "--samples expects a whole number")]
    [InlineData(new[] { "--procfs" }, "--procfs needs a value")]
    [InlineData(new[] { "--procfs", "--sysfs", "/x" }, "--procfs needs a value")]
    [InlineData(new[] { "--frobnicate" }, "Unknown option '--frobnicate'")]
    [InlineData(new[] { "stray" }, "Unexpected argument 'stray'")]
    public void Bad_arguments_are_named_in_the_error(string[] args, string expected)
    {
        var parsed = CommandLine.Parse(args);
        Assert.Contains(parsed.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Help_lists_exactly_the_options_the_readme_documents()
    {
        Assert.Equal(AgentCommand.Help, CommandLine.Parse(["--help"]).Command);

        // The help's option rows ("  --procfs PATH   ...") against the README's options table
        // ("| `--procfs PATH` | ..."): two texts a user reads, not the list that generates the help.
        var help = CommandLine.HelpText("1.2.3").Split('\n')
            .Where(l => l.StartsWith("  --", StringComparison.Ordinal))
            .SelectMany(l => OptionNames().Matches(l.Split("  ", 3, StringSplitOptions.RemoveEmptyEntries)[0]).Select(m => m.Value));
        var readme = File.ReadLines(Deployment.Tests.RepositoryRoot.Combine("README.md"))
            .Where(l => l.StartsWith("| `--", StringComparison.Ordinal))
            .SelectMany(l => OptionNames().Matches(l.Split('|')[1]).Select(m => m.Value));

        Assert.Equal(readme.Order(StringComparer.Ordinal), help.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_option_sets_a_property_of_the_agent_options()
    {
        // A configuration key that names no property is bound to nothing: the option would be silently ignored.
        var properties = typeof(AgentOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Assert.All(CommandLine.Options, o => Assert.Contains(o.ConfigurationKey, properties));
    }

    [GeneratedRegex("--[a-z][a-z-]*")]
    private static partial Regex OptionNames();

    [Fact]
    public void Bench_takes_the_rest_of_the_arguments()
    {
        var parsed = CommandLine.Parse(["bench", "--processes", "10"]);
        Assert.Equal(AgentCommand.Bench, parsed.Command);
        Assert.Equal(["--processes", "10"], parsed.CommandArguments);
    }
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
