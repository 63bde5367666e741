using OtelPower.Agent.Kubernetes.Api;

namespace OtelPower.Agent.Kubernetes;

/// <summary>A watch <c>ERROR</c> event: the API server's <see cref="V1Status"/> (410 Gone for an expired resourceVersion).</summary>
internal sealed class KubernetesStatusException : Exception
{
    public KubernetesStatusException()
    {
    }

    public KubernetesStatusException(string message)
        : base(message)
    {
    }

    public KubernetesStatusException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public KubernetesStatusException(V1Status? status)
        : base(status?.Message is { Length: > 0 } message ? message : "The API server reported an error.")
    {
        Code = status?.Code;
        Reason = status?.Reason;
    }

    /// <summary>The HTTP status code the Status carries.</summary>
    public int? Code { get; }

    /// <summary>The Status' reason, e.g. <c>Expired</c>.</summary>
    public string? Reason { get; }
}
