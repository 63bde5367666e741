using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace OtelPower.Sampling;

/// <summary>
/// Creates <see cref="PowerSamplingOptions"/> from the <see cref="PowerSamplingOptions.ConfigurationSection"/>
/// section before any <c>Configure</c> delegate runs, so code wins over configuration whatever the order of the
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
        // Bound by the configuration binding source generator: no reflection, so the agent stays AOT-clean.
        configuration?.GetSection(PowerSamplingOptions.ConfigurationSection).Bind(options);
        return options;
    }
}
