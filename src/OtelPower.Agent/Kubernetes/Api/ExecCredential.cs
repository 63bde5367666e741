namespace OtelPower.Agent.Kubernetes.Api;

/// <summary>
/// What a kubeconfig <c>exec</c> credential plugin prints (client.authentication.k8s.io v1 and v1beta1).
/// </summary>
internal sealed class ExecCredential
{
    public ExecCredentialStatus? Status { get; set; }
}

/// <summary>The credential itself: a bearer token, or a client certificate and key (PEM).</summary>
internal sealed class ExecCredentialStatus
{
    public string? Token { get; set; }

    public DateTimeOffset? ExpirationTimestamp { get; set; }

    public string? ClientCertificateData { get; set; }

    public string? ClientKeyData { get; set; }
}
