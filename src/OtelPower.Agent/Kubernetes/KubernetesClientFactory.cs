using System.Security.Cryptography.X509Certificates;

namespace OtelPower.Agent.Kubernetes;

/// <summary>Builds the API connection from <see cref="KubernetesOptions"/>.</summary>
internal static class KubernetesClientFactory
{
    internal const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>
    /// An explicit kubeconfig wins; else the in-cluster service account; else the default kubeconfig
    /// (<c>KUBECONFIG</c> or <c>~/.kube/config</c>). Throws <see cref="InvalidDataException"/> or an I/O exception
    /// when none is usable.
    /// </summary>
    public static KubernetesApiConnection Create(KubernetesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        KubernetesApiSettings settings =
            !string.IsNullOrWhiteSpace(options.KubeconfigPath) ? Kubeconfig.Load([options.KubeconfigPath])
            : InCluster(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"), Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT"), ServiceAccountDirectory) is { } inCluster
                ? inCluster
            : Kubeconfig.Load(Kubeconfig.DefaultPaths());
        return new KubernetesApiConnection(settings);
    }

    /// <summary>
    /// The pod's service account: <c>https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT</c>, trusting
    /// <c>ca.crt</c>, authenticating with <c>token</c> (read again as the kubelet rotates it). Null outside a pod.
    /// </summary>
    internal static KubernetesApiSettings? InCluster(string? host, string? port, string serviceAccountDirectory)
    {
        string tokenPath = Path.Combine(serviceAccountDirectory, "token");
        if (string.IsNullOrWhiteSpace(host) || string.IsNullOrWhiteSpace(port) || !File.Exists(tokenPath))
        {
            return null;
        }

        X509Certificate2Collection? authority = null;
        string caPath = Path.Combine(serviceAccountDirectory, "ca.crt");
        if (File.Exists(caPath))
        {
            authority = [];
            authority.ImportFromPemFile(caPath);
        }

        // An IPv6 service address needs brackets in a URI.
        string authorityHost = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? "[" + host + "]" : host;
        return new KubernetesApiSettings(
            new Uri("https://" + authorityHost + ":" + port.Trim()),
            authority,
            InsecureSkipTlsVerify: false,
            TlsServerName: null,
            ClientCertificate: null,
            new TokenFileCredentials(tokenPath));
    }
}
