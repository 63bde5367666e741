using System.Text.RegularExpressions;
using OtelPower.Attribution;

namespace OtelPower.Sensors.Cgroups;

/// <summary>
/// Recognises a container in a cgroup path, in every shape the runtimes write:
/// <list type="bullet">
/// <item><c>/docker/ID</c> (Docker, cgroupfs driver) and <c>/system.slice/docker-ID.scope</c> (systemd driver);</item>
/// <item><c>/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod&lt;uid_with_underscores&gt;.slice/cri-containerd-ID.scope</c>
/// (Kubernetes, systemd driver; <c>crio-ID.scope</c> for CRI-O, <c>docker-ID.scope</c> for dockershim);</item>
/// <item><c>/kubepods/burstable/pod&lt;uid&gt;/ID</c> (Kubernetes, cgroupfs driver); guaranteed pods have no QoS level;</item>
/// <item><c>/machine.slice/libpod-ID.scope</c> or <c>/user.slice/.../libpod-ID.scope</c> (Podman).</item>
/// </list>
/// A nested cgroup below the container (<c>.../docker-ID.scope/init.scope</c>) belongs to that container.
/// </summary>
internal static partial class ContainerPath
{
    public static bool TryParse(string cgroupPath, out ContainerIdentity? container)
    {
        ArgumentNullException.ThrowIfNull(cgroupPath);
        container = null;
        string? podUid = null;
        string? qos = null;
        var underKubepods = false;
        var segments = cgroupPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.StartsWith("kubepods", StringComparison.Ordinal))
            {
                underKubepods = true;
                if (KubepodsSliceQos().Match(segment) is { Success: true } sliceQos)
                {
                    qos = sliceQos.Groups["qos"].Value;
                }

                if (SystemdPodSlice().Match(segment) is { Success: true } slice)
                {
                    podUid = slice.Groups["uid"].Value.Replace('_', '-');
                }

                continue;
            }

            if (underKubepods && segment is "burstable" or "besteffort")
            {
                qos = segment;
                continue;
            }

            if (underKubepods && CgroupfsPod().Match(segment) is { Success: true } pod)
            {
                podUid = pod.Groups["uid"].Value;
                continue;
            }

            if (ContainerScope().Match(segment) is { Success: true } scope)
            {
                container = new ContainerIdentity(scope.Groups["id"].Value, RuntimeOf(scope.Groups["prefix"].Value), podUid, QosOf(underKubepods, qos), cgroupPath);
                return true;
            }

            if (BareId().IsMatch(segment) && i > 0 && (underKubepods || segments[i - 1] == "docker"))
            {
                container = new ContainerIdentity(segment, underKubepods ? "cri" : "docker", podUid, QosOf(underKubepods, qos), cgroupPath);
                return true;
            }
        }

        return false;
    }

    private static string? QosOf(bool underKubepods, string? qos) => underKubepods ? qos ?? "guaranteed" : null;

    private static string RuntimeOf(string prefix) => prefix switch
    {
        "cri-containerd" => "containerd",
        "crio" => "cri-o",
        "libpod" => "podman",
        _ => "docker",
    };

    [GeneratedRegex("^(?<prefix>docker|cri-containerd|crio|libpod)-(?<id>[0-9a-f]{64})\\.scope$")]
    private static partial Regex ContainerScope();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex BareId();

    [GeneratedRegex("^kubepods-(?<qos>burstable|besteffort)(-|\\.slice$)")]
    private static partial Regex KubepodsSliceQos();

    [GeneratedRegex("-pod(?<uid>[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12})\\.slice$")]
    private static partial Regex SystemdPodSlice();

    [GeneratedRegex("^pod(?<uid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")]
    private static partial Regex CgroupfsPod();
}
