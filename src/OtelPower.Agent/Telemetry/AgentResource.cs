using System.Text;
using OpenTelemetry.Resources;

namespace OtelPower.Agent.Telemetry;

/// <summary>
/// The one Resource of the agent's MeterProvider. Per-process and per-pod context travel as data-point
/// attributes; the resource says which agent on which host sent them.
/// </summary>
internal static class AgentResource
{
    public const string DefaultServiceName = "otelpower-agent";

    private static readonly string[] MachineIdFiles = ["/etc/machine-id", "/var/lib/dbus/machine-id"];

    /// <summary>
    /// service.name (OTEL_SERVICE_NAME wins over the default), service.version, service.instance.id,
    /// host.name, host.id, os.type, k8s.node.name from NODE_NAME; OTEL_RESOURCE_ATTRIBUTES is added by the
    /// SDK's environment detector and wins over ours for the keys it sets.
    /// </summary>
    public static ResourceBuilder Configure(ResourceBuilder builder, string version, string? nodeName, string? machineId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var hostName = Environment.MachineName;
        machineId ??= ReadMachineId();
        var attributes = new List<KeyValuePair<string, object>>
        {
            new("host.name", hostName),
            new("os.type", "linux"),
        };
        if (!string.IsNullOrEmpty(machineId))
        {
            attributes.Add(new("host.id", machineId));
        }

        if (!string.IsNullOrEmpty(nodeName))
        {
            attributes.Add(new("k8s.node.name", nodeName));
        }

        // Later additions win: OTEL_RESOURCE_ATTRIBUTES over ours, and OTEL_SERVICE_NAME over both (as the spec says).
        var instanceId = InstanceId(machineId, nodeName ?? hostName);
        builder
            .AddService(DefaultServiceName, serviceVersion: version, autoGenerateServiceInstanceId: false, serviceInstanceId: instanceId)
            .AddAttributes(attributes)
            .AddEnvironmentVariableDetector();
        if (Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is { Length: > 0 } serviceName)
        {
            builder.AddService(serviceName, serviceVersion: version, autoGenerateServiceInstanceId: false, serviceInstanceId: instanceId);
        }

        return builder;
    }

    /// <summary>
    /// Stable across restarts on one host (so series continue) and unique per agent: derived from the
    /// machine id and the node name, as a UUID-shaped hash. Without a machine id, a random one.
    /// </summary>
    /// <remarks>
    /// FNV-1a, 128 bits: an identifier, not a secret, so no cryptographic hash. SHA-256 here was the only
    /// thing that loaded OpenSSL (libcrypto and libssl, about 3.5 MiB of resident pages) into an agent that
    /// speaks plain HTTP.
    /// </remarks>
    public static string InstanceId(string? machineId, string node)
    {
        if (string.IsNullOrEmpty(machineId))
        {
            return Guid.NewGuid().ToString();
        }

        var hash = Fnv1a128(Encoding.UTF8.GetBytes("otelpower-agent/" + machineId + "/" + node));
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, hash);
        return new Guid(bytes).ToString();
    }

    internal static UInt128 Fnv1a128(ReadOnlySpan<byte> data)
    {
        var hash = new UInt128(0x6c62272e07bb0142, 0x62b821756295c58d);
        var prime = new UInt128(0x0000000001000000, 0x000000000000013B);
        foreach (var b in data)
        {
            hash = (hash ^ b) * prime;
        }

        return hash;
    }

    private static string? ReadMachineId()
    {
        foreach (var file in MachineIdFiles)
        {
            try
            {
                var id = File.ReadAllText(file).Trim();
                if (id.Length > 0)
                {
                    return id;
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
            }
        }

        return null;
    }
}
