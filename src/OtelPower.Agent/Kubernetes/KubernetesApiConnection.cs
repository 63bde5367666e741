using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace OtelPower.Agent.Kubernetes;

/// <summary>Where the API server is and how to trust it and be trusted by it, as a kubeconfig or a pod says.</summary>
/// <param name="Server">The API server's base address.</param>
/// <param name="CertificateAuthority">Roots the server's certificate must chain to; null: the system's trust store.</param>
/// <param name="InsecureSkipTlsVerify">Accept any server certificate (kubeconfig <c>insecure-skip-tls-verify</c>).</param>
/// <param name="TlsServerName">The name to check the server's certificate against instead of the address' host.</param>
/// <param name="ClientCertificate">A client certificate with its private key, or null.</param>
/// <param name="Credentials">The Authorization header of each request.</param>
internal sealed record KubernetesApiSettings(
    Uri Server,
    X509Certificate2Collection? CertificateAuthority,
    bool InsecureSkipTlsVerify,
    string? TlsServerName,
    X509Certificate2? ClientCertificate,
    KubernetesCredentials Credentials);

/// <summary>
/// One HTTP client for the API server: its TLS trust and client certificate set once, the credentials applied to
/// each request. The agent's whole use of the API is two GETs (<see cref="PodApiClient"/>), so this is all the
/// client there is.
/// </summary>
internal sealed class KubernetesApiConnection : IDisposable
{
    private readonly HttpClient httpClient;
    private readonly KubernetesCredentials credentials;

    public KubernetesApiConnection(KubernetesApiSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        BaseUri = settings.Server.AbsoluteUri.EndsWith('/') ? settings.Server : new Uri(settings.Server.AbsoluteUri + "/");
        credentials = settings.Credentials;
        var handler = new SocketsHttpHandler
        {
            // A watch stays open for minutes; an idle pooled connection is not kept longer than client-go keeps one.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            ConnectTimeout = TimeSpan.FromSeconds(30),
        };
        if (settings.ClientCertificate is { } clientCertificate)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        if (settings.InsecureSkipTlsVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (settings.CertificateAuthority is not null || settings.TlsServerName is not null)
        {
            X509Certificate2Collection? roots = settings.CertificateAuthority;
            string? serverName = settings.TlsServerName;
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, presented, errors) =>
                certificate is not null && IsTrusted(new X509Certificate2(certificate), presented, errors, roots, serverName);
        }

        // No overall timeout: a watch is a long-lived response; the server ends it (timeoutSeconds).
        httpClient = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The server's address, ending in '/'.</summary>
    public Uri BaseUri { get; }

    /// <summary>GET a path (relative to the server) with credentials; the body is left unread.</summary>
    public async Task<HttpResponseMessage> GetAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUri, pathAndQuery));
        request.Headers.Authorization = await credentials.AuthorizeAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.Accept.ParseAdd("application/json");
        return await httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => httpClient.Dispose();

    // The server's chain must end at one of the kubeconfig's (or the service account's) roots; the name checked
    // is the address' host, or tls-server-name when given.
    private static bool IsTrusted(X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection? roots, string? serverName)
    {
        using (certificate)
        {
            if (serverName is not null)
            {
                if (!certificate.MatchesHostname(serverName))
                {
                    return false;
                }

                errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
            }

            if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            {
                return false;
            }

            if (roots is null)
            {
                return errors == SslPolicyErrors.None;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (presented is not null)
            {
                // Intermediates the server sent.
                foreach (X509ChainElement element in presented.ChainElements)
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            return chain.Build(certificate);
        }
    }
}
