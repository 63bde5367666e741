using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace OtelPower.Sampling;

/// <summary>
/// Creates each named <see cref="PowerSamplingOptions"/> from the <see cref="PowerSamplingOptions.ConfigurationSection"/>
/// section (and, for a name, its subsection over it) before any <c>Configure</c> delegate runs, so code wins over configuration whatever the order of the
/// calls (as opentelemetry-dotnet's options factories do with the OTEL_* variables).
/// </summary>
internal sealed class PowerSamplingOptionsFactory(
    IConfiguration? configuration,
    IEnumerable<IConfigureOptions<PowerSamplingOptions>> setups,
    IEnumerable<IPostConfigureOptions<PowerSamplingOptions>> postConfigures,
    IEnumerable<IValidateOptions<PowerSamplingOptions>> validations)
    : OptionsFactory<PowerSamplingOptions>(setups, postConfigures, validations)
{
    protected override PowerSamplingOptions CreateInstance(string name)
    {
        var options = new PowerSamplingOptions();
        if (configuration is not null)
        {
            // Bound by the configuration binding source generator: no reflection, so the agent stays AOT-clean.
            var section = configuration.GetSection(PowerSamplingOptions.ConfigurationSection);
            section.Bind(options);
            if (!string.IsNullOrEmpty(name))
            {
                section.GetSection(name).Bind(options);
            }
        }

        return options;
    }
}
