using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OtelPower.Agent.Kubernetes;

/// <summary>Registers the pod cache and its watcher.</summary>
internal static class KubernetesServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="PodMetadataCache"/> (always, empty when Kubernetes is off) and
    /// <see cref="KubernetesPodWatcher"/> (which does nothing unless <see cref="KubernetesOptions.Enabled"/>).
    /// Configure <see cref="KubernetesOptions"/> separately, e.g. <c>services.Configure&lt;KubernetesOptions&gt;(...)</c>.
    /// </summary>
    /// <param name="services">The agent's services.</param>
    /// <param name="watch">False registers only the (empty) cache: the watcher, and with it the Kubernetes
    /// client assembly, is never loaded on a host without Kubernetes.</param>
    public static IServiceCollection AddKubernetesPodMetadata(this IServiceCollection services, bool watch = true)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<KubernetesOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new PodMetadataCache(sp.GetRequiredService<IOptions<KubernetesOptions>>().Value.PodLabels));
        if (watch)
        {
            services.AddHostedService<KubernetesPodWatcher>();
        }

        return services;
    }
}
