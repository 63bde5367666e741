using Microsoft.Extensions.Time.Testing;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using OtelPower.Agent.Cli;
using OtelPower.Agent.Telemetry;

namespace OtelPower.Agent.Tests.Telemetry;

public sealed class GridCarbonIntensityTests
{
    [Theory]
    [InlineData("400", 400.0)]
    [InlineData(" 123.5\n", 123.5)]
    [InlineData("0", 0.0)]
    [InlineData("1e3", 1000.0)]
    public void A_file_holds_one_number_of_grams_per_kilowatt_hour(string text, double expected)
    {
        Assert.True(GridCarbonIntensity.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("four hundred")]
    [InlineData("400 g/kWh")]
    [InlineData("400,5")]
    [InlineData("-1")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("20000")]
    public void Anything_else_is_not_an_intensity(string text)
    {
        Assert.False(GridCarbonIntensity.TryParse(text, out _));
    }

    [Fact]
    public void A_static_value_is_reported_as_the_gauge()
    {
        using var intensity = new GridCarbonIntensity(250, null, new FakeTimeProvider(), NullLogger<GridCarbonIntensity>.Instance);

        Assert.Equal([250.0], Observe(intensity));
    }

    [Fact]
    public void A_file_is_re_read_on_the_timer_and_a_bad_file_keeps_the_last_value()
    {
        using var directory = new TemporaryDirectory();
        var file = Path.Combine(directory.Path, "intensity");
        File.WriteAllText(file, "300\n");
        var clock = new FakeTimeProvider();
        using var intensity = new GridCarbonIntensity(null, file, clock, NullLogger<GridCarbonIntensity>.Instance);
        Assert.Equal([300.0], Observe(intensity));

        File.WriteAllText(file, "120\n");
        Assert.Equal([300.0], Observe(intensity));
        clock.Advance(GridCarbonIntensity.FileRefreshPeriod);
        Assert.Equal([120.0], Observe(intensity));

        File.WriteAllText(file, "garbage");
        clock.Advance(GridCarbonIntensity.FileRefreshPeriod);
        Assert.Equal([120.0], Observe(intensity));

        File.Delete(file);
        clock.Advance(GridCarbonIntensity.FileRefreshPeriod);
        Assert.Equal([120.0], Observe(intensity));
    }

    [Fact]
    public void No_valid_value_yet_reports_nothing_rather_than_zero()
    {
        using var directory = new TemporaryDirectory();
        using var intensity = new GridCarbonIntensity(null, Path.Combine(directory.Path, "missing"), new FakeTimeProvider(), NullLogger<GridCarbonIntensity>.Instance);

        Assert.Empty(Observe(intensity));
    }

    [Fact]
    public void Options_come_from_the_command_line_and_are_validated()
    {
        var parsed = CommandLine.Parse(["--carbon-intensity", "412.5", "--carbon-intensity-file", "/etc/otelpower/intensity"]);

        Assert.Empty(parsed.Errors);
        Assert.Equal("412.5", parsed.Settings["CarbonIntensity"]);
        Assert.Equal("/etc/otelpower/intensity", parsed.Settings["CarbonIntensityFile"]);
        Assert.Contains(new AgentOptions { CarbonIntensity = -5 }.Validate(), e => e.StartsWith("--carbon-intensity must", StringComparison.Ordinal));
        Assert.Contains(new AgentOptions { CarbonIntensity = 1, CarbonIntensityFile = "/x" }.Validate(), e => e.Contains("give one of them", StringComparison.Ordinal));
        Assert.Empty(new AgentOptions { CarbonIntensity = 400 }.Validate());
    }

    private static List<double> Observe(GridCarbonIntensity intensity)
    {
        _ = intensity;
        var values = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == GridCarbonIntensity.MeterName && instrument.Name == GridCarbonIntensity.InstrumentName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => values.Add(value));
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
