using System.Text.Json.Serialization;

namespace OtelPower.Agent.Kubernetes.Api;

/// <summary>Source-generated JSON for the API objects the agent reads: no reflection, AOT- and trimming-safe.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(V1Pod))]
[JsonSerializable(typeof(V1PodList))]
[JsonSerializable(typeof(V1Status))]
[JsonSerializable(typeof(WatchEvent))]
[JsonSerializable(typeof(ExecCredential))]
internal sealed partial class KubernetesJsonContext : JsonSerializerContext;
