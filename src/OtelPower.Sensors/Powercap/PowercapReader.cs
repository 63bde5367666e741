using System.Buffers.Text;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using OtelPower.Attribution;
using OtelPower.Sensors.Procfs;

namespace OtelPower.Sensors.Powercap;

/// <summary>
/// Discovers RAPL zones under <c>&lt;sysfs&gt;/class/powercap</c> and reads their counters. Zones are
/// <c>intel-rapl:N</c> (package-N per socket, psys, or a top-level dram) and <c>intel-rapl:N:M</c>
/// (core, uncore, dram inside a socket). <c>intel-rapl-mmio:*</c> is skipped: it is the same package counter
/// read through MMIO, and adding it would count the package twice. AMD Zen exposes the same tree.
/// </summary>
internal sealed class PowercapReader
{
    private const string ZonePrefix = "intel-rapl:";

    /// <summary>The file the hypervisor agent (<c>--vm-powercap</c>) puts at the top of each VM's tree, so a guest can tell.</summary>
    public const string HypervisorMarkerFile = "otelpower-hypervisor";

    private PowercapReader(string powercapDirectory, ImmutableArray<DiscoveredZone> zones, bool isHypervisorTree = false)
    {
        PowercapDirectory = powercapDirectory;
        Zones = zones;
        IsHypervisorTree = isHypervisorTree;
    }

    /// <summary><c>&lt;sysfs&gt;/class/powercap</c>, or the tree named by <c>--powercap</c>.</summary>
    public string PowercapDirectory { get; }

    /// <summary>The tree carries the hypervisor agent's marker: its energy is this VM's share of its host's.</summary>
    public bool IsHypervisorTree { get; }

    public ImmutableArray<DiscoveredZone> Zones { get; }

    /// <summary>Finds every zone; none when the directory is missing (VMs, ARM, containers with a masked /sys).</summary>
    public static PowercapReader Discover(string sysfsRoot)
    {
        ArgumentNullException.ThrowIfNull(sysfsRoot);
        return DiscoverAt(Path.Combine(sysfsRoot, "class", "powercap"));
    }

    /// <summary>Finds every zone in a powercap tree at <paramref name="directory"/> (a guest's mount of its hypervisor's tree).</summary>
    public static PowercapReader DiscoverAt(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            return new PowercapReader(directory, []);
        }

        var entries = Directory.EnumerateFileSystemEntries(directory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => name.StartsWith(ZonePrefix, StringComparison.Ordinal) && TryParseIndexes(name, out _, out _))
            .Order(StringComparer.Ordinal)
            .ToArray();

        var names = entries.ToDictionary(id => id, id => ReadName(Path.Combine(directory, id)), StringComparer.Ordinal);
        var zones = ImmutableArray.CreateBuilder<DiscoveredZone>(entries.Length);
        foreach (var id in entries)
        {
            TryParseIndexes(id, out var top, out var sub);
            var name = names[id] ?? "unknown";
            var parentId = sub is null ? null : ZonePrefix + top.ToString(CultureInfo.InvariantCulture);
            var kind = KindOf(name);
            var socket = parentId is not null && names.GetValueOrDefault(parentId) is { } parentName ? SocketOf(parentName, top) : SocketOf(name, top);
            var displayName = kind switch
            {
                EnergyZoneKind.Package => name,
                EnergyZoneKind.Psys => "psys",
                _ => $"{name}-{socket.ToString(CultureInfo.InvariantCulture)}",
            };
            var zoneDirectory = Path.Combine(directory, id);
            zones.Add(new DiscoveredZone(
                new EnergyZone(id, displayName, parentId, kind),
                Path.Combine(zoneDirectory, "energy_uj"),
                ReadCounterFile(Path.Combine(zoneDirectory, "max_energy_range_uj"), out _)));
        }

        return new PowercapReader(directory, zones.MoveToImmutable(), File.Exists(Path.Combine(directory, HypervisorMarkerFile)));
    }

    /// <summary>Reads one zone's counter; never throws.</summary>
    public static bool TryRead(DiscoveredZone zone, out EnergyZoneReading reading, out ZoneReadError error)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var value = ReadCounterFile(zone.EnergyFile, out error);
        reading = new EnergyZoneReading(zone.Zone, value, zone.MaxEnergyRangeMicrojoules);
        return error == ZoneReadError.None;
    }

    private static ulong ReadCounterFile(string path, out ZoneReadError error)
    {
        // Read every sample for every zone: open, read and close into the stack, no FileStream, StreamReader or
        // string. A counter is at most 20 digits and a newline; a longer file fills the buffer and is malformed.
        const int MaxStackPath = 512;
        var pathLength = Encoding.UTF8.GetMaxByteCount(path.Length) + 1;
        Span<byte> nulTerminatedPath = pathLength <= MaxStackPath ? stackalloc byte[MaxStackPath] : new byte[pathLength];
        var written = Encoding.UTF8.GetBytes(path, nulTerminatedPath);
        nulTerminatedPath[written] = 0;
        Span<byte> contents = stackalloc byte[64];
        if (!RawFileReader.TryReadFile(nulTerminatedPath[..(written + 1)], contents, out var length, out var errno))
        {
            error = errno switch
            {
                // EACCES, EPERM; and EISDIR, which File.ReadAllText reported as access denied too.
                13 or 1 or 21 => ZoneReadError.PermissionDenied,
                2 or 20 => ZoneReadError.Missing, // ENOENT, ENOTDIR
                _ => ZoneReadError.Failed, // e.g. ENODATA from a zone the firmware disabled
            };
            return 0;
        }

        var text = contents[..length].Trim(" \t\r\n"u8);
        if (text.Length > 0 && char.IsAsciiDigit((char)text[0])
            && Utf8Parser.TryParse(text, out ulong value, out var consumed) && consumed == text.Length)
        {
            error = ZoneReadError.None;
            return value;
        }

        error = ZoneReadError.Malformed;
        return 0;
    }

    private static string? ReadName(string zoneDirectory)
    {
        try
        {
            var name = File.ReadAllText(Path.Combine(zoneDirectory, "name")).Trim();
            return name.Length > 0 ? name : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static EnergyZoneKind KindOf(string name) => name switch
    {
        _ when name.StartsWith("package", StringComparison.Ordinal) => EnergyZoneKind.Package,
        "core" => EnergyZoneKind.Core,
        "uncore" => EnergyZoneKind.Uncore,
        "dram" => EnergyZoneKind.Dram,
        "psys" => EnergyZoneKind.Psys,
        _ => EnergyZoneKind.Other,
    };

    /// <summary>The socket: N of "package-N", else the zone's own top-level index.</summary>
    private static int SocketOf(string packageName, int topIndex) =>
        packageName.StartsWith("package-", StringComparison.Ordinal)
        && int.TryParse(packageName.AsSpan("package-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var socket)
            ? socket
            : topIndex;

    private static bool TryParseIndexes(string id, out int top, out int? sub)
    {
        sub = null;
        var rest = id.AsSpan(ZonePrefix.Length);
        var colon = rest.IndexOf(':');
        if (colon < 0)
        {
            return int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out top);
        }

        if (!int.TryParse(rest[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out top)
            || !int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var subIndex))
        {
            return false;
        }

        sub = subIndex;
        return true;
    }
}

/// <summary>A zone found at start, with where its counter lives.</summary>
internal sealed record DiscoveredZone(EnergyZone Zone, string EnergyFile, ulong MaxEnergyRangeMicrojoules);
