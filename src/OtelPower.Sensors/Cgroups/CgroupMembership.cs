namespace OtelPower.Sensors.Cgroups;

/// <summary>
/// Where a process sits in the cgroup hierarchies, from <c>/proc/PID/cgroup</c>.
/// cgroup v2 writes one line <c>0::/path</c>; v1 writes <c>N:controllers:/path</c> per hierarchy; a hybrid
/// host writes both. The unified (v2) path wins when it is more than the root, else the v1 path of the
/// cpu/cpuacct hierarchy, else the v1 <c>name=systemd</c> one.
/// </summary>
/// <param name="UnifiedPath">The v2 path, if any.</param>
/// <param name="CpuAcctPath">The v1 path of the hierarchy that holds cpuacct, if any.</param>
/// <param name="SystemdPath">The v1 <c>name=systemd</c> path, if any.</param>
internal sealed record CgroupMembership(string? UnifiedPath, string? CpuAcctPath, string? SystemdPath)
{
    /// <summary>The path that best names the process's container.</summary>
    public string? ContainerLookupPath =>
        UnifiedPath is { Length: > 1 } ? UnifiedPath : CpuAcctPath is { Length: > 1 } ? CpuAcctPath : SystemdPath ?? UnifiedPath;

    /// <summary>Parses the file's text; false when no line has the <c>N:controllers:/path</c> shape.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out CgroupMembership? membership)
    {
        string? unified = null, cpuacct = null, systemd = null;
        var any = false;
        foreach (var range in text.Split('\n'))
        {
            var line = text[range].TrimEnd('\r');
            var firstColon = line.IndexOf(':');
            if (firstColon <= 0)
            {
                continue;
            }

            var rest = line[(firstColon + 1)..];
            var secondColon = rest.IndexOf(':');
            if (secondColon < 0)
            {
                continue;
            }

            var controllers = rest[..secondColon];
            var path = rest[(secondColon + 1)..];
            if (path.Length == 0 || path[0] != '/')
            {
                continue;
            }

            any = true;
            if (line[..firstColon] is "0" && controllers.IsEmpty)
            {
                unified = path.ToString();
            }
            else if (HasController(controllers, "cpuacct"))
            {
                cpuacct = path.ToString();
            }
            else if (controllers is "name=systemd")
            {
                systemd = path.ToString();
            }
        }

        membership = any ? new CgroupMembership(unified, cpuacct, systemd) : null;
        return any;
    }

    private static bool HasController(ReadOnlySpan<char> controllers, string name)
    {
        foreach (var range in controllers.Split(','))
        {
            if (controllers[range].SequenceEqual(name))
            {
                return true;
            }
        }

        return false;
    }
}
