using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace OtelPower.Agent.Telemetry;

/// <summary>
/// The carbon intensity of the grid that powers this node, in gCO2e/kWh, as the gauge
/// <c>otelpower.grid.carbon_intensity</c> (Prometheus: <c>otelpower_grid_carbon_intensity</c>), for the
/// recording rules that turn joules into grams (otel-collector/prometheus/carbon.rules.yaml). Either a
/// static value (<c>--carbon-intensity</c>) or the number in a file the operator updates
/// (<c>--carbon-intensity-file</c>), read at start and every 30 s on a timer, never on the export path.
/// While no valid value is known the gauge reports nothing: an unknown intensity must not read as zero.
/// </summary>
internal sealed class GridCarbonIntensity : IDisposable
{
    public const string MeterName = "OtelPower.Agent";

    public const string InstrumentName = "otelpower.grid.carbon_intensity";

    /// <summary>An annotation only, so no unit suffix lands on the Prometheus name.</summary>
    public const string Unit = "{gCO2e/kWh}";

    /// <summary>Far above any grid (coal is about 1,000); a larger number is a typo or another unit.</summary>
    public const double MaxGramsPerKilowattHour = 10_000;

    public static readonly TimeSpan FileRefreshPeriod = TimeSpan.FromSeconds(30);

    private readonly Meter _meter;
    private readonly string? _file;
    private readonly ILogger _logger;
    private readonly ITimer? _timer;
    private double _gramsPerKilowattHour = double.NaN;
    private string? _lastProblem;

    public GridCarbonIntensity(double? staticGramsPerKilowattHour, string? file, TimeProvider timeProvider, ILogger<GridCarbonIntensity> logger)
    {
        _logger = logger;
        _meter = new Meter(MeterName);
        _meter.CreateObservableGauge(InstrumentName, Observe, Unit, "Carbon intensity of the grid that powers this node, grams of CO2e per kWh.");
        if (staticGramsPerKilowattHour is { } value)
        {
            _gramsPerKilowattHour = value;
        }
        else if (!string.IsNullOrEmpty(file))
        {
            _file = file;
            Refresh();
            _timer = timeProvider.CreateTimer(_ => Refresh(), null, FileRefreshPeriod, FileRefreshPeriod);
        }
    }

    /// <summary>The value the gauge reports now; NaN while none is known.</summary>
    public double GramsPerKilowattHour => Volatile.Read(ref _gramsPerKilowattHour);

    /// <summary>A file's content: one number of gCO2e/kWh, whitespace around it allowed.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out double gramsPerKilowattHour) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out gramsPerKilowattHour)
        && IsValid(gramsPerKilowattHour);

    public static bool IsValid(double gramsPerKilowattHour) =>
        double.IsFinite(gramsPerKilowattHour) && gramsPerKilowattHour is >= 0 and <= MaxGramsPerKilowattHour;

    public void Dispose()
    {
        _timer?.Dispose();
        _meter.Dispose();
    }

    /// <summary>Reads the file again; a missing or bad file keeps the last good value and is logged once per change.</summary>
    internal void Refresh()
    {
        string problem;
        try
        {
            var text = File.ReadAllText(_file!);
            if (TryParse(text, out var value))
            {
                Volatile.Write(ref _gramsPerKilowattHour, value);
                _lastProblem = null;
                return;
            }

            problem = $"does not hold a number of gCO2e/kWh from 0 to {MaxGramsPerKilowattHour.ToString(CultureInfo.InvariantCulture)}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot be read ({e.Message})";
        }

        if (problem != _lastProblem)
        {
            _lastProblem = problem;
            _logger.LogWarning("Carbon intensity file {File} {Problem}; keeping the last value.", _file, problem);
        }
    }

    private IEnumerable<Measurement<double>> Observe()
    {
        var value = GramsPerKilowattHour;
        return double.IsNaN(value) ? [] : [new Measurement<double>(value)];
    }
}
