using OtelPower.Agent.Cli;

namespace OtelPower.Agent.Tests;

public sealed class CommandLineTests
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
    public void Help_lists_every_option()
    {
        Assert.Equal(AgentCommand.Help, CommandLine.Parse(["--help"]).Command);
        var help = CommandLine.HelpText("1.2.3");
        Assert.All(CommandLine.Options, o => Assert.Contains(o.Name, help, StringComparison.Ordinal));
    }

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
