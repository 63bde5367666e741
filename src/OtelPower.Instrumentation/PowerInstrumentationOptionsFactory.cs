using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace OtelPower.Instrumentation;

/// <summary>
/// Creates each named <see cref="PowerInstrumentationOptions"/> from configuration before any <c>Configure</c>
/// delegate runs, so code wins over configuration whatever the order of the calls (as opentelemetry-dotnet's
/// options factories do with the OTEL_* variables). The <see cref="PowerInstrumentationOptions.ConfigurationSection"/>
/// section applies to every name; a named instance's own subsection is bound over it.
/// </summary>
internal sealed class PowerInstrumentationOptionsFactory(
    IConfiguration? configuration,
    IEnumerable<IConfigureOptions<PowerInstrumentationOptions>> setups,
    IEnumerable<IPostConfigureOptions<PowerInstrumentationOptions>> postConfigures,
    IEnumerable<IValidateOptions<PowerInstrumentationOptions>> validations)
    : OptionsFactory<PowerInstrumentationOptions>(setups, postConfigures, validations)
{
    protected override PowerInstrumentationOptions CreateInstance(string name)
    {
        var options = new PowerInstrumentationOptions();
        if (configuration is not null)
        {
            // Bound by the configuration binding source generator: no reflection, so the agent stays AOT-clean.
            var section = configuration.GetSection(PowerInstrumentationOptions.ConfigurationSection);
            section.Bind(options);
            if (!string.IsNullOrEmpty(name))
            {
                section.GetSection(name).Bind(options);
            }
        }

        return options;
    }
}
