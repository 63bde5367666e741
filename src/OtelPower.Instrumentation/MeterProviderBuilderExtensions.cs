using OtelPower.Attribution;
using OtelPower.Instrumentation;

namespace OpenTelemetry.Metrics;

/// <summary>Adds the OtelPower instruments to a MeterProvider.</summary>
public static class MeterProviderBuilderExtensions
{
    /// <summary>
    /// Adds the <c>OtelPower</c> meter (or <see cref="PowerInstrumentationOptions.MeterName"/>), fed by the snapshots published on <paramref name="feed"/>, and a View
    /// per instrument that sets its cardinality limit.
    /// </summary>
    public static MeterProviderBuilder AddPowerInstrumentation(
        this MeterProviderBuilder builder, AttributionFeed feed, Action<PowerInstrumentationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(feed);
        var options = new PowerInstrumentationOptions();
        configure?.Invoke(options);
        options.Validate();

        // Scoped to our meter: another library's hw.energy keeps its own limit. Consumer instruments hold a
        // CPU set and, on GPU hosts, a GPU set of series (and a platform set when asked), each planned within the limit.
        var meterName = options.MeterName;
        builder.AddView(instrument =>
            instrument.Meter.Name == meterName && SemanticConventions.InstrumentNames.Contains(instrument.Name)
                ? new MetricStreamConfiguration
                {
                    CardinalityLimit = SemanticConventions.ConsumerInstrumentNames.Contains(instrument.Name) ? options.ConsumerSeriesSets * options.CardinalityLimit : options.CardinalityLimit,
                }
                : null);

        return builder
            .AddMeter(meterName)
            .AddInstrumentation(() => new PowerInstruments(feed, options));
    }
}
