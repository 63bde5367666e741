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
/// <param name="CycleEngines">
/// Per engine, the cycle counters of drivers that report <c>drm-cycles-</c> and <c>drm-total-cycles-</c> instead of
/// ns (Intel <c>xe</c>): busy cycles, the GPU timestamp they are measured against, and the engines of that class.
/// Empty for drivers that report ns only.
/// </param>
internal sealed record DrmFdinfo(string Driver, string PciAddress, ulong ClientId, IReadOnlyDictionary<string, ulong> Engines, IReadOnlyDictionary<string, DrmEngineCycles> CycleEngines)
{
    private const string EnginePrefix = "drm-engine-";
    private const string CapacityPrefix = "drm-engine-capacity-";
    private const string CyclesPrefix = "drm-cycles-";
    private const string TotalCyclesPrefix = "drm-total-cycles-";
    private static readonly IReadOnlyDictionary<string, DrmEngineCycles> NoCycleEngines = new Dictionary<string, DrmEngineCycles>();

    public DrmFdinfo(string driver, string pciAddress, ulong clientId, IReadOnlyDictionary<string, ulong> engines)
        : this(driver, pciAddress, clientId, engines, NoCycleEngines)
    {
    }

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
        Dictionary<string, ulong>? cycles = null;
        Dictionary<string, ulong>? totalCycles = null;
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
            else if (key.StartsWith(CyclesPrefix))
            {
                if (ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var busyCycles))
                {
                    (cycles ??= new(StringComparer.Ordinal))[key[CyclesPrefix.Length..].ToString()] = busyCycles;
                }
            }
            else if (key.StartsWith(TotalCyclesPrefix))
            {
                if (ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var timestampCycles))
                {
                    (totalCycles ??= new(StringComparer.Ordinal))[key[TotalCyclesPrefix.Length..].ToString()] = timestampCycles;
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

        // A cycles key counts only with its total: without the timestamp the cycles mean nothing.
        Dictionary<string, DrmEngineCycles>? cycleEngines = null;
        foreach (var (engine, busyCycles) in cycles ?? [])
        {
            if (totalCycles is not null && totalCycles.TryGetValue(engine, out var total))
            {
                var count = capacity is not null && capacity.TryGetValue(engine, out var engineCount) ? engineCount : 1;
                (cycleEngines ??= new(StringComparer.Ordinal))[engine] = new DrmEngineCycles(busyCycles, total, count);
            }
        }

        fdinfo = new DrmFdinfo(driver, pdev, client, engines, cycleEngines ?? NoCycleEngines);
        return true;
    }
}

/// <summary>An engine class's cycle counters from <c>drm-cycles-</c>/<c>drm-total-cycles-</c> (Intel xe).</summary>
/// <param name="BusyCycles">Cycles the client kept engines of this class busy, summed over the class's engines.</param>
/// <param name="TotalCycles">The GPU timestamp in the same unit, read with <paramref name="BusyCycles"/>.</param>
/// <param name="EngineCount"><c>drm-engine-capacity-</c>, 1 when absent.</param>
internal readonly record struct DrmEngineCycles(ulong BusyCycles, ulong TotalCycles, ulong EngineCount)
{
    /// <summary>
    /// The busy time over an interval of <paramref name="intervalNanoseconds"/> since <paramref name="before"/>, in ns of
    /// the whole class: busy share = dBusy / (dTotal x engines), times the interval. 0 when the timestamp did not move.
    /// </summary>
    public ulong BusyNanosecondsSince(DrmEngineCycles before, ulong intervalNanoseconds)
    {
        if (BusyCycles < before.BusyCycles || TotalCycles <= before.TotalCycles || EngineCount == 0)
        {
            return 0;
        }

        var busy = (UInt128)(BusyCycles - before.BusyCycles) * intervalNanoseconds;
        var span = (UInt128)(TotalCycles - before.TotalCycles) * EngineCount;
        return (ulong)UInt128.Min(busy / span, intervalNanoseconds);
    }
}
