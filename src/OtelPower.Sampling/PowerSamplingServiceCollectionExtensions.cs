using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OtelPower.Attribution;
using OtelPower.Sampling;
using OtelPower.Sensors;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers OtelPower's sampling loop in an application's services.</summary>
public static class PowerSamplingServiceCollectionExtensions
{
    /// <summary>
    /// Adds the sampling loop as a hosted service, and the <see cref="AttributionFeed"/> it publishes on, so that
    /// <c>AddPowerInstrumentation()</c> (or any reader of the feed) sees this host's energy. Options come from
    /// the <c>OtelPower:Sampling</c> configuration section. Calling it again adds nothing.
    /// </summary>
    /// <remarks>
    /// Each of <see cref="TimeProvider"/>, <see cref="AttributionFeed"/>, <see cref="HostSampler"/> and
    /// <see cref="PowerSampler"/> is added only if the services hold none yet: register one of your own to
    /// replace it (a fake clock in tests). <see cref="EnergyPoolReaders"/> and an
    /// <see cref="IContainerMetadataSource"/>, when registered, are read by the default sampler.
    /// </remarks>
    public static IServiceCollection AddPowerSampling(this IServiceCollection services) => AddPowerSampling(services, configure: null);

    /// <summary>As <see cref="AddPowerSampling(IServiceCollection)"/>, then <paramref name="configure"/> runs on the options after configuration is bound.</summary>
    public static IServiceCollection AddPowerSampling(this IServiceCollection services, Action<PowerSamplingOptions>? configure) =>
        AddPowerSampling(services, name: null, configure);

    /// <summary>
    /// As <see cref="AddPowerSampling(IServiceCollection)"/>, with the options named <paramref name="name"/>:
    /// <c>IOptionsMonitor&lt;PowerSamplingOptions&gt;.Get(name)</c>, bound from the <c>OtelPower:Sampling</c> section
    /// and then its <c>OtelPower:Sampling:NAME</c> subsection, then given to <c>Configure(name, ...)</c> delegates
    /// and <paramref name="configure"/>, which win.
    /// </summary>
    /// <remarks>
    /// A host has one sampling loop: the first call registers it with its name's options, and a later call
    /// adds only its <paramref name="configure"/> to the options of its own name.
    /// </remarks>
    public static IServiceCollection AddPowerSampling(this IServiceCollection services, string? name, Action<PowerSamplingOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var optionsName = name ?? Options.Options.DefaultName;
        services.AddOptions();
        services.TryAddSingleton<IOptionsFactory<PowerSamplingOptions>>(sp => new PowerSamplingOptionsFactory(
            sp.GetService<IConfiguration>(),
            sp.GetServices<IConfigureOptions<PowerSamplingOptions>>(),
            sp.GetServices<IPostConfigureOptions<PowerSamplingOptions>>(),
            sp.GetServices<IValidateOptions<PowerSamplingOptions>>()));
        if (configure is not null)
        {
            services.Configure(optionsName, configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AttributionFeed>();
        services.TryAddSingleton(sp => new HostSampler(
            OptionsOf(sp, optionsName).ToSensorOptions(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<HostSampler>>() ?? NullLogger<HostSampler>.Instance,
            sp.GetService<EnergyPoolReaders>()?.Readers));
        services.TryAddSingleton(sp => new PowerSampler(
            sp.GetRequiredService<HostSampler>(),
            sp.GetRequiredService<AttributionFeed>(),
            sp.GetService<IContainerMetadataSource>(),
            OptionsOf(sp, optionsName).AttributePlatformOther));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PowerSamplingService>(sp => new PowerSamplingService(
            sp.GetRequiredService<PowerSampler>(),
            OptionsOf(sp, optionsName),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IHostApplicationLifetime>(),
            sp.GetService<ILogger<PowerSamplingService>>() ?? NullLogger<PowerSamplingService>.Instance)));
        return services;
    }

    private static PowerSamplingOptions OptionsOf(IServiceProvider services, string name) =>
        services.GetRequiredService<IOptionsMonitor<PowerSamplingOptions>>().Get(name);
}
