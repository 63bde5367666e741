using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace OtelPower.Sensors.Hwmon;

/// <summary>
/// Finds the power and energy channels under <c>&lt;sysfs&gt;/class/hwmon/hwmonN</c> and says which pool each
/// feeds (issue 14). Never throws: an unreadable chip is left out.
/// </summary>
/// <remarks>
/// <para>A channel is <c>energyN_input</c> (µJ) or <c>powerN_average</c> / <c>powerN_input</c> (µW; the average
/// when both exist, since the reader integrates it). <c>*_enable</c> = 0 means the firmware turned it off: skipped.</para>
/// <para>Roles, by the chip's <c>name</c>:</para>
/// <list type="bullet">
/// <item><c>power_meter</c> (ACPI power meter): whole node, platform. NVIDIA Grace exposes one power_meter per
/// rail and says which in <c>device/powerN_oem_info</c>: "CPU Power Socket N" is CPU; "Module Power Socket N"
/// (or no oem_info) is platform; the other Grace rails ("Grace Power", "SysIO Power") overlap those two and
/// are left out.</item>
/// <item><c>smpro</c> (Ampere Altra) and <c>xgene-hwmon</c>: the channel labelled "CPU power" is CPU; "IO power"
/// and the rest are not.</item>
/// <item><c>amd_energy</c>: the socket counters (<c>Esocket*</c>) are CPU; the per-core counters are inside them.</item>
/// <item><c>amdgpu</c>: the lowest power channel; <c>i915</c> and <c>xe</c>: the lowest energy channel
/// (xe's energy2 "pkg" is inside energy1 "card"). One GPU pool per chip, identified by the PCI address of its
/// <c>device</c> link.</item>
/// </list>
/// </remarks>
internal static partial class HwmonDiscovery
{
    /// <summary>Every power and energy channel of every chip, sorted by chip number then channel.</summary>
    public static ImmutableArray<HwmonChannel> Discover(string sysfsRoot)
    {
        ArgumentNullException.ThrowIfNull(sysfsRoot);
        var directory = Path.Combine(sysfsRoot, "class", "hwmon");
        string[] chips;
        try
        {
            chips = Directory.Exists(directory) ? Directory.GetFileSystemEntries(directory) : [];
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        var channels = ImmutableArray.CreateBuilder<HwmonChannel>();
        foreach (var chip in chips.OrderBy(ChipNumber).ThenBy(c => c, StringComparer.Ordinal))
        {
            try
            {
                AddChip(chip, channels);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // A chip that vanished or cannot be listed is not measured.
            }
        }

        return channels.ToImmutable();
    }

    /// <summary>The PCI address (<c>0000:03:00.0</c>) in a device path, the last one when the path nests bridges.</summary>
    public static string? PciAddressOf(string? devicePath)
    {
        if (string.IsNullOrEmpty(devicePath))
        {
            return null;
        }

        string? address = null;
        foreach (var segment in devicePath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (PciAddress().IsMatch(segment))
            {
                address = segment;
            }
        }

        return address;
    }

    private static void AddChip(string chip, ImmutableArray<HwmonChannel>.Builder channels)
    {
        var chipId = Path.GetFileName(chip);
        var name = ReadText(Path.Combine(chip, "name")) ?? chipId;
        var pci = PciAddressOf(DevicePath(Path.Combine(chip, "device")));
        var found = new SortedDictionary<(HwmonQuantity Quantity, int Index), string>();
        foreach (var file in Directory.EnumerateFiles(chip).Select(Path.GetFileName).OfType<string>())
        {
            var match = ChannelFile().Match(file);
            if (!match.Success)
            {
                continue;
            }

            var quantity = match.Groups[1].ValueSpan is "energy" ? HwmonQuantity.Energy : HwmonQuantity.Power;
            var index = int.Parse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture);
            var isAverage = match.Groups[3].ValueSpan is "average";
            if (quantity == HwmonQuantity.Energy && isAverage)
            {
                continue;
            }

            // powerN_average wins over powerN_input: an average over the chip's own window integrates better.
            if (!found.TryGetValue((quantity, index), out var existing) || (isAverage && !existing.EndsWith("_average", StringComparison.Ordinal)))
            {
                found[(quantity, index)] = file;
            }
        }

        var firstPower = found.Keys.Where(k => k.Quantity == HwmonQuantity.Power).Select(k => (int?)k.Index).FirstOrDefault();
        var firstEnergy = found.Keys.Where(k => k.Quantity == HwmonQuantity.Energy).Select(k => (int?)k.Index).FirstOrDefault();
        foreach (var ((quantity, index), file) in found)
        {
            var prefix = (quantity == HwmonQuantity.Energy ? "energy" : "power") + index.ToString(CultureInfo.InvariantCulture);
            if (ReadText(Path.Combine(chip, prefix + "_enable")) is "0")
            {
                continue;
            }

            var label = ReadText(Path.Combine(chip, prefix + "_label"));
            var oemInfo = name == "power_meter" ? ReadText(Path.Combine(chip, "device", prefix + "_oem_info")) : null;
            var role = RoleOf(name, quantity, index, label, oemInfo, quantity == HwmonQuantity.Power ? firstPower : firstEnergy);
            channels.Add(new HwmonChannel($"{chipId}:{prefix}", name, quantity, index, Path.Combine(chip, file), label ?? oemInfo, role, pci));
        }
    }

    private static HwmonRole RoleOf(string chipName, HwmonQuantity quantity, int index, string? label, string? oemInfo, int? firstOfQuantity) => chipName switch
    {
        "power_meter" when quantity == HwmonQuantity.Power => oemInfo switch
        {
            null => HwmonRole.Platform,
            _ when oemInfo.StartsWith("CPU Power", StringComparison.OrdinalIgnoreCase) => HwmonRole.Cpu,
            _ when oemInfo.StartsWith("Module Power", StringComparison.OrdinalIgnoreCase) => HwmonRole.Platform,
            _ => HwmonRole.Other,
        },
        "smpro" or "xgene-hwmon" when quantity == HwmonQuantity.Power && string.Equals(label, "CPU power", StringComparison.OrdinalIgnoreCase) => HwmonRole.Cpu,
        "amd_energy" when quantity == HwmonQuantity.Energy && label is not null && label.StartsWith("Esocket", StringComparison.Ordinal) => HwmonRole.Cpu,
        "amdgpu" when quantity == HwmonQuantity.Power && index == firstOfQuantity => HwmonRole.Gpu,
        "i915" or "xe" when quantity == HwmonQuantity.Energy && index == firstOfQuantity => HwmonRole.Gpu,
        _ => HwmonRole.Other,
    };

    /// <summary>The <c>device</c> link's target; some captured trees (Kepler's) store it as a file holding the path.</summary>
    private static string? DevicePath(string device)
    {
        try
        {
            var info = new FileInfo(device);
            if (info.LinkTarget is { } target)
            {
                return target;
            }

            return info.Exists ? ReadText(device) : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int ChipNumber(string chip)
    {
        var name = Path.GetFileName(chip.AsSpan());
        return name.StartsWith("hwmon") && int.TryParse(name[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : int.MaxValue;
    }

    internal static string? ReadText(string path)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            return text.Length > 0 ? text : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^(power|energy)([0-9]+)_(input|average)$", RegexOptions.CultureInvariant)]
    private static partial Regex ChannelFile();

    [GeneratedRegex(@"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$", RegexOptions.CultureInvariant)]
    private static partial Regex PciAddress();
}
