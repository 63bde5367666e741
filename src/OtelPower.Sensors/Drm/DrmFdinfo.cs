using System.Globalization;

namespace OtelPower.Sensors.Drm;

/// <summary>
/// The DRM client keys of one <c>/proc/PID/fdinfo/N</c> (the kernel's drm-usage-stats): which device, which
/// client, and each engine's cumulative busy nanoseconds.
/// </summary>
/// <param name="Driver"><c>drm-driver</c>: amdgpu, i915, ...</param>
/// <param name="PciAddress"><c>drm-pdev</c>: the device's PCI address.</param>
/// <param name="ClientId"><c>drm-client-id</c>: shared by every fd of one client.</param>
/// <param name="Engines">Per engine, busy ns divided by its <c>drm-engine-capacity-</c> (engines of that class), so 1 s of one busy engine set is 1e9.</param>
internal sealed record DrmFdinfo(string Driver, string PciAddress, ulong ClientId, IReadOnlyDictionary<string, ulong> Engines)
{
    private const string EnginePrefix = "drm-engine-";
    private const string CapacityPrefix = "drm-engine-capacity-";

    /// <summary>
    /// Parses an fdinfo file. False for an fd that is not a DRM client with a device and client id (most fds:
    /// pos/flags/mnt_id only). Lines in any order; unknown keys are ignored.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out DrmFdinfo? fdinfo)
    {
        fdinfo = null;
        string? driver = null, pdev = null;
        ulong? clientId = null;
        Dictionary<string, ulong>? busy = null;
        Dictionary<string, ulong>? capacity = null;
        foreach (var range in text.Split('\n'))
        {
            var line = text[range];
            var colon = line.IndexOf(':');
            if (colon <= 0 || !line.StartsWith("drm-"))
            {
                continue;
            }

            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (key is "drm-driver")
            {
                driver = value.ToString();
            }
            else if (key is "drm-pdev")
            {
                pdev = value.ToString();
            }
            else if (key is "drm-client-id")
            {
                if (ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    clientId = id;
                }
            }
            else if (key.StartsWith(CapacityPrefix))
            {
                if (ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var engineCount) && engineCount > 0)
                {
                    (capacity ??= new(StringComparer.Ordinal))[key[CapacityPrefix.Length..].ToString()] = engineCount;
                }
            }
            else if (key.StartsWith(EnginePrefix))
            {
                // "drm-engine-gfx:	123456 ns"
                var number = value.EndsWith(" ns") ? value[..^3].TrimEnd() : value;
                if (ulong.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var ns))
                {
                    (busy ??= new(StringComparer.Ordinal))[key[EnginePrefix.Length..].ToString()] = ns;
                }
            }
        }

        if (driver is null || pdev is null || clientId is not { } client)
        {
            return false;
        }

        var engines = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var (engine, ns) in busy ?? [])
        {
            engines[engine] = capacity is not null && capacity.TryGetValue(engine, out var count) ? ns / count : ns;
        }

        fdinfo = new DrmFdinfo(driver, pdev, client, engines);
        return true;
    }
}
