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
    public static IServiceCollection AddPowerSampling(this IServiceCollection services, Action<PowerSamplingOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.TryAddSingleton<IOptionsFactory<PowerSamplingOptions>>(sp => new PowerSamplingOptionsFactory(
            sp.GetService<IConfiguration>(),
            sp.GetServices<IConfigureOptions<PowerSamplingOptions>>(),
            sp.GetServices<IPostConfigureOptions<PowerSamplingOptions>>(),
            sp.GetServices<IValidateOptions<PowerSamplingOptions>>()));
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AttributionFeed>();
        services.TryAddSingleton(sp => new HostSampler(
            sp.GetRequiredService<IOptions<PowerSamplingOptions>>().Value.ToSensorOptions(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<HostSampler>>() ?? NullLogger<HostSampler>.Instance,
            sp.GetService<EnergyPoolReaders>()?.Readers));
        services.TryAddSingleton(sp => new PowerSampler(
            sp.GetRequiredService<HostSampler>(),
            sp.GetRequiredService<AttributionFeed>(),
            sp.GetService<IContainerMetadataSource>(),
            sp.GetRequiredService<IOptions<PowerSamplingOptions>>().Value.AttributePlatformOther));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PowerSamplingService>(sp => new PowerSamplingService(
            sp.GetRequiredService<PowerSampler>(),
            sp.GetRequiredService<IOptions<PowerSamplingOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IHostApplicationLifetime>(),
            sp.GetService<ILogger<PowerSamplingService>>() ?? NullLogger<PowerSamplingService>.Instance)));
        return services;
    }
}
