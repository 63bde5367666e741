namespace OtelPower.Agent.Tests;

public sealed class AgentOptionsTests
{
    [Fact]
    public void Defaults_are_valid_and_use_the_console() 
    {
        var options = new AgentOptions();
        Assert.Empty(options.Validate());
        Assert.Equal(["console"], options.ExporterNames);
        Assert.Equal(TimeSpan.FromSeconds(1), options.SamplingInterval);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(7200.0)]
    public void Interval_out_of_range_is_rejected(double interval) =>
        Assert.Contains(new AgentOptions { Interval = interval }.Validate(), e => e.StartsWith("--interval", StringComparison.Ordinal));

    [Fact]
    public void Unknown_exporter_is_rejected_with_the_known_list() =>
        Assert.Contains(new AgentOptions { Exporter = "console,carrier-pigeon" }.Validate(), e => e.Contains("'carrier-pigeon'", StringComparison.Ordinal) && e.Contains("json", StringComparison.Ordinal));

    [Fact]
    public void Output_without_the_json_exporter_is_rejected() =>
        Assert.Contains(new AgentOptions { Output = "/tmp/x.jsonl" }.Validate(), e => e.StartsWith("--output", StringComparison.Ordinal));

    [Fact]
    public void Console_and_json_cannot_share_stdout() =>
        Assert.Contains(new AgentOptions { Exporter = "console,json" }.Validate(), e => e.Contains("stdout", StringComparison.Ordinal));

    [Fact]
    public void Console_and_json_to_a_file_is_fine() =>
        Assert.Empty(new AgentOptions { Exporter = "console,json", Output = "/tmp/x.jsonl" }.Validate());

    [Fact]
    public void Estimator_coefficients_are_checked() =>
        Assert.NotEmpty(new AgentOptions { Estimator = { MinWattsPerCpu = 5, MaxWattsPerCpu = 1 } }.Validate());

    [Theory]
    [InlineData("bmc.example")]
    [InlineData("ftp://bmc.example")]
    [InlineData("https://root:calvin@bmc.example")]
    public void Redfish_url_must_be_http_without_credentials(string url) =>
        Assert.Contains(new AgentOptions { RedfishUrl = url }.Validate(), e => e.StartsWith("--redfish-url", StringComparison.Ordinal));

    [Fact]
    public void Redfish_credentials_file_must_hold_user_and_password()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "no-password\n");
            Assert.Contains(new AgentOptions { RedfishUrl = "https://bmc", RedfishCredentials = file }.Validate(), e => e.StartsWith("--redfish-credentials", StringComparison.Ordinal));
            File.WriteAllText(file, "monitor:secret\n");
            Assert.Empty(new AgentOptions { RedfishUrl = "https://bmc", RedfishCredentials = file }.Validate());
            Assert.Contains(new AgentOptions { RedfishCredentials = file + ".missing" }.Validate(), e => e.StartsWith("--redfish-credentials", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
