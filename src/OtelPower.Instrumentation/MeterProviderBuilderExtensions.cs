using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OtelPower.Attribution;
using OtelPower.Instrumentation;

namespace OpenTelemetry.Metrics;

/// <summary>Adds the OtelPower instruments to a MeterProvider.</summary>
/// <remarks>
/// Options are named options, as opentelemetry-dotnet's instrumentations and exporters have them: each call's
/// <see cref="PowerInstrumentationOptions"/> is <c>IOptionsMonitor&lt;PowerInstrumentationOptions&gt;.Get(name)</c>,
/// bound from the <c>OtelPower:Instrumentation</c> configuration section (and, for a named call, its
/// <c>OtelPower:Instrumentation:NAME</c> subsection over it), then given to <c>Configure(name, ...)</c> delegates
/// and the <c>configure</c> argument, which win.
/// </remarks>
public static class MeterProviderBuilderExtensions
{
    /// <summary>
    /// Adds the <c>OtelPower</c> meter, fed by the <see cref="AttributionFeed"/> registered in the services
    /// (<c>services.AddPowerSampling()</c> registers one and the loop that publishes on it).
    /// </summary>
    public static MeterProviderBuilder AddPowerInstrumentation(this MeterProviderBuilder builder) =>
        AddPowerInstrumentation(builder, name: null, feed: null, configure: null);

    /// <summary>As <see cref="AddPowerInstrumentation(MeterProviderBuilder)"/>, with <paramref name="configure"/> run on the default options.</summary>
    public static MeterProviderBuilder AddPowerInstrumentation(this MeterProviderBuilder builder, Action<PowerInstrumentationOptions>? configure) =>
        AddPowerInstrumentation(builder, name: null, feed: null, configure);

    /// <summary>As <see cref="AddPowerInstrumentation(MeterProviderBuilder)"/>, with the options named <paramref name="name"/>.</summary>
    public static MeterProviderBuilder AddPowerInstrumentation(this MeterProviderBuilder builder, string? name, Action<PowerInstrumentationOptions>? configure) =>
        AddPowerInstrumentation(builder, name, feed: null, configure);

    /// <summary>Adds the <c>OtelPower</c> meter, fed by the snapshots published on <paramref name="feed"/>.</summary>
    public static MeterProviderBuilder AddPowerInstrumentation(this MeterProviderBuilder builder, AttributionFeed feed) =>
        AddPowerInstrumentation(builder, feed, configure: null);

    /// <summary>As <see cref="AddPowerInstrumentation(MeterProviderBuilder, AttributionFeed)"/>, with <paramref name="configure"/> run on the default options.</summary>
    public static MeterProviderBuilder AddPowerInstrumentation(this MeterProviderBuilder builder, AttributionFeed feed, Action<PowerInstrumentationOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(feed);
        return AddPowerInstrumentation(builder, name: null, feed, configure);
    }

    /// <summary>
    /// Adds the meter named by <see cref="PowerInstrumentationOptions.MeterName"/> (<c>OtelPower</c> by default) and a View
    /// per instrument that sets its cardinality limit.
    /// </summary>
    /// <param name="builder">The provider's builder.</param>
    /// <param name="name">The options' name; null for the default options.</param>
    /// <param name="feed">Where the snapshots come from; null for the <see cref="AttributionFeed"/> registered in the services.</param>
    /// <param name="configure">Run on the options after configuration is bound; null for none.</param>
    public static MeterProviderBuilder AddPowerInstrumentation(
        this MeterProviderBuilder builder, string? name, AttributionFeed? feed, Action<PowerInstrumentationOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var optionsName = name ?? Options.DefaultName;
        builder.ConfigureServices(services =>
        {
            services.AddOptions();
            services.TryAddSingleton<IOptionsFactory<PowerInstrumentationOptions>>(sp => new PowerInstrumentationOptionsFactory(
                sp.GetService<Microsoft.Extensions.Configuration.IConfiguration>(),
                sp.GetServices<IConfigureOptions<PowerInstrumentationOptions>>(),
                sp.GetServices<IPostConfigureOptions<PowerInstrumentationOptions>>(),
                sp.GetServices<IValidateOptions<PowerInstrumentationOptions>>()));
            if (configure is not null)
            {
                services.Configure(optionsName, configure);
            }
        });

        // Deferred until the provider is built: only then are the options final and the services known.
        if (builder is not IDeferredMeterProviderBuilder deferredBuilder)
        {
            throw new NotSupportedException("AddPowerInstrumentation needs an SDK MeterProviderBuilder (Sdk.CreateMeterProviderBuilder() or AddOpenTelemetry().WithMetrics()).");
        }

        return deferredBuilder.Configure((services, deferred) =>
        {
            var options = services.GetRequiredService<IOptionsMonitor<PowerInstrumentationOptions>>().Get(optionsName);
            options.Validate();
            var source = feed ?? services.GetService<AttributionFeed>() ?? throw new InvalidOperationException(
                "AddPowerInstrumentation() without a feed reads the AttributionFeed in the services: call services.AddPowerSampling() "
                + "(OtelPower.Sampling), register an AttributionFeed, or pass one to AddPowerInstrumentation(feed).");

            // Scoped to our meter: another library's hw.energy keeps its own limit. Consumer instruments hold a
            // CPU set, a GPU set (unless turned off) and a platform set when asked, each planned within the limit.
            var meterName = options.MeterName;
            deferred.AddView(instrument =>
                instrument.Meter.Name == meterName && SemanticConventions.InstrumentNames.Contains(instrument.Name)
                    ? new MetricStreamConfiguration
                    {
                        // The SDK allocates a stream's points up front, per reader: device instruments (zones,
                        // GPUs, the platform meter, the host, idle per pool) need a handful, not the consumers' budget.
                        CardinalityLimit = SemanticConventions.ConsumerInstrumentNames.Contains(instrument.Name)
                            ? options.ConsumerSeriesSets * options.CardinalityLimit
                            : Math.Min(options.CardinalityLimit, PowerInstrumentationOptions.DeviceSeriesLimit),
                    }
                    : null);
            deferred
                .AddMeter(meterName)
                .AddInstrumentation(() => new PowerInstruments(source, options));
        });
    }
}
