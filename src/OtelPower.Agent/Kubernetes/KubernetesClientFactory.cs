using k8s;

namespace OtelPower.Agent.Kubernetes;

/// <summary>Builds the API client from <see cref="KubernetesOptions"/>.</summary>
internal static class KubernetesClientFactory
{
    /// <summary>
    /// An explicit kubeconfig wins; else the in-cluster service account; else the default kubeconfig
    /// (<c>KUBECONFIG</c> or <c>~/.kube/config</c>). Throws <see cref="k8s.Exceptions.KubeConfigException"/>
    /// or an I/O exception when none is usable.
    /// </summary>
    public static k8s.Kubernetes Create(KubernetesOptions options)
    {
        KubernetesClientConfiguration configuration =
            !string.IsNullOrWhiteSpace(options.KubeconfigPath) ? KubernetesClientConfiguration.BuildConfigFromConfigFile(options.KubeconfigPath)
            : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile();
        return new k8s.Kubernetes(configuration);
    }
}
