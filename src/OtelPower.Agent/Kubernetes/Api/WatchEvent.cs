using System.Text.Json;
using System.Text.Json.Serialization;

namespace OtelPower.Agent.Kubernetes.Api;

/// <summary>
/// One line of a watch: <c>ADDED</c>, <c>MODIFIED</c> or <c>DELETED</c> with a pod, <c>BOOKMARK</c> with a pod
/// that carries only its resourceVersion, or <c>ERROR</c> with a <see cref="V1Status"/>; the object is read once
/// the type says which.
/// </summary>
internal sealed class WatchEvent
{
    public string? Type { get; set; }

    [JsonPropertyName("object")]
    public JsonElement Object { get; set; }
}
