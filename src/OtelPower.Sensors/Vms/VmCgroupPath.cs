using System.Text;
using System.Text.RegularExpressions;

namespace OtelPower.Sensors.Vms;

/// <summary>
/// Recognises a libvirt domain in a cgroup path (domain-notes §8): under systemd the scope
/// <c>machine.slice/machine-qemu\x2dID\x2dNAME.scope</c> (systemd escapes <c>-</c> and other bytes as
/// <c>\xNN</c>), without systemd <c>/machine/qemu-ID-NAME.libvirt-qemu</c>. Since libvirt 7.1 the scope holds
/// <c>libvirt/emulator</c> and <c>libvirt/vcpuN</c>: anything below the scope belongs to the VM, and the scope's
/// own usage counts it all, vhost and I/O threads included.
/// </summary>
internal static partial class VmCgroupPath
{
    /// <param name="cgroupPath">A cgroup path relative to the root, e.g. from <c>/proc/PID/cgroup</c>.</param>
    /// <param name="scopePath">The VM's own cgroup: the path up to and including the scope.</param>
    /// <param name="name">The domain name from the machine name <c>qemu-ID-NAME</c> (libvirt cuts it to 64 characters).</param>
    public static bool TryParse(string cgroupPath, out string? scopePath, out string? name)
    {
        ArgumentNullException.ThrowIfNull(cgroupPath);
        scopePath = null;
        name = null;
        var end = 0;
        foreach (var segment in cgroupPath.Split('/'))
        {
            end += segment.Length + 1;
            if (segment.Length == 0)
            {
                continue;
            }

            var machine = segment.StartsWith("machine-", StringComparison.Ordinal) && segment.EndsWith(".scope", StringComparison.Ordinal)
                ? UnescapeSystemd(segment["machine-".Length..^".scope".Length])
                : segment.EndsWith(".libvirt-qemu", StringComparison.Ordinal) ? segment[..^".libvirt-qemu".Length] : null;
            if (machine is not null && MachineName().Match(machine) is { Success: true } match)
            {
                scopePath = cgroupPath[..Math.Min(end - 1, cgroupPath.Length)];
                name = match.Groups["name"].Value;
                return true;
            }
        }

        return false;
    }

    /// <summary>systemd's unit-name escaping: <c>\xNN</c> is the byte NN; the bytes are UTF-8.</summary>
    public static string UnescapeSystemd(string escaped)
    {
        ArgumentNullException.ThrowIfNull(escaped);
        if (!escaped.Contains("\\x", StringComparison.Ordinal))
        {
            return escaped;
        }

        var bytes = new List<byte>(escaped.Length);
        for (var i = 0; i < escaped.Length; i++)
        {
            if (escaped[i] == '\\' && i + 3 < escaped.Length && escaped[i + 1] == 'x'
                && byte.TryParse(escaped.AsSpan(i + 2, 2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                bytes.Add(value);
                i += 3;
                continue;
            }

            bytes.AddRange(Encoding.UTF8.GetBytes(escaped[i].ToString()));
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    [GeneratedRegex("^qemu-(?<id>[0-9]+)-(?<name>.+)$")]
    private static partial Regex MachineName();
}
