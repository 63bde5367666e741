using System.Text;

namespace OtelPower.Sensors.Vms;

/// <summary>
/// Recognises a KVM/QEMU process and reads the guest's name and UUID from its arguments
/// (<c>-name guest=NAME,debug-threads=on</c> or <c>-name NAME</c>; <c>-uuid UUID</c>), the way Kepler does.
/// </summary>
/// <remarks>
/// The command line often holds secrets (domain-notes §2), so it is read only for processes whose exe or
/// comm already says qemu/kvm, only these two values are kept, and it is never exported from here.
/// </remarks>
internal static class QemuCommandLine
{
    /// <summary>
    /// <c>qemu-system-*</c> (comm is cut at 15 bytes: <c>qemu-system-x86</c>), RHEL's <c>/usr/libexec/qemu-kvm</c>,
    /// Debian's <c>kvm</c>.
    /// </summary>
    public static bool LooksLikeQemu(string comm, string executableName) => IsQemuName(executableName) || IsQemuName(comm);

    private static bool IsQemuName(string name) =>
        name.StartsWith("qemu-system-", StringComparison.Ordinal) || name is "qemu-kvm" or "kvm";

    /// <summary>Parses a NUL-separated <c>/proc/PID/cmdline</c>. False when argv[0] is not qemu/kvm.</summary>
    public static bool TryParse(ReadOnlySpan<byte> cmdline, out string? name, out string? uuid)
    {
        name = null;
        uuid = null;
        var arguments = Encoding.UTF8.GetString(cmdline).Split('\0');
        if (arguments.Length == 0 || !IsQemuName(Path.GetFileName(arguments[0])))
        {
            return false;
        }

        for (var i = 1; i + 1 < arguments.Length; i++)
        {
            var option = arguments[i].TrimStart('-');
            if (arguments[i].StartsWith('-') && option == "name")
            {
                name = GuestName(arguments[i + 1]) ?? name;
            }
            else if (arguments[i].StartsWith('-') && option == "uuid" && arguments[i + 1].Length > 0)
            {
                uuid = arguments[i + 1];
            }
        }

        return true;
    }

    /// <summary>QEMU's option syntax: <c>guest=NAME,process=P,debug-threads=on</c>, or the bare name first; ",," is a comma.</summary>
    private static string? GuestName(string value)
    {
        var parts = SplitOptions(value);
        foreach (var part in parts)
        {
            if (part.StartsWith("guest=", StringComparison.Ordinal))
            {
                return part["guest=".Length..] is { Length: > 0 } guest ? guest : null;
            }
        }

        return parts.Count > 0 && parts[0].Length > 0 && !parts[0].Contains('=', StringComparison.Ordinal) ? parts[0] : null;
    }

    private static List<string> SplitOptions(string value)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == ',')
            {
                if (i + 1 < value.Length && value[i + 1] == ',')
                {
                    current.Append(',');
                    i++;
                    continue;
                }

                parts.Add(current.ToString());
                current.Clear();
                continue;
            }

            current.Append(value[i]);
        }

        parts.Add(current.ToString());
        return parts;
    }
}
