using OtelPower.Attribution;
using OtelPower.Instrumentation;

namespace OpenTelemetry.Metrics;

/// <summary>Adds the OtelPower instruments to a MeterProvider.</summary>
public static class MeterProviderBuilderExtensions
{
    /// <summary>
    /// Adds the <c>OtelPower</c> meter, fed by the snapshots published on <paramref name="feed"/>, and a View
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

        foreach (var name in SemanticConventions.InstrumentNames)
        {
            // Consumer instruments hold a CPU set and, on GPU hosts, a GPU set of series, each planned within the limit.
            var limit = SemanticConventions.ConsumerInstrumentNames.Contains(name) ? 2 * options.CardinalityLimit : options.CardinalityLimit;
            builder.AddView(name, new MetricStreamConfiguration { CardinalityLimit = limit });
        }

        return builder
            .AddMeter(SemanticConventions.MeterName)
            .AddInstrumentation(() => new PowerInstruments(feed, options));
    }
}
