using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using OtelPower.Attribution;
using OtelPower.Sensors.Powercap;

namespace OtelPower.Agent.Exporters;

/// <summary>
/// <c>--vm-powercap DIR</c>: a virtual RAPL tree per VM that the guest mounts and reads as its own powercap,
/// <c>DIR/NAME/intel-rapl:0/{name, energy_uj, max_energy_range_uj}</c>, the layout Scaphandre's guest mode reads.
/// </summary>
/// <remarks>
/// Scaphandre's qemu exporter got this wrong in ways a guest sees (domain-notes §8): power added as energy
/// (#428), truncate-then-write so a guest reads an empty or torn value (#442), counters that restart from
/// zero with the exporter. Here <c>energy_uj</c> grows by exactly the VM's attributed joules each interval;
/// every file is replaced by rename(2) of a complete temporary file in the same directory; the counter
/// continues from the value on disk when the agent restarts and wraps only at <c>max_energy_range_uj</c>, as
/// RAPL does. A VM that stops keeps its tree, so the same guest started again continues its counter.
/// </remarks>
internal sealed partial class VmPowercapWriter : ISnapshotWriter
{
    /// <summary>2^40 - 1 µJ (about 305 Wh): a guest sampling at any sane interval never misses a wrap.</summary>
    public const ulong DefaultMaxEnergyRangeMicrojoules = (1UL << 40) - 1;

    public const string ZoneDirectory = "intel-rapl:0";

    private readonly string _root;
    private readonly ulong _maxRange;
    private readonly ILogger _logger;
    private readonly Dictionary<string, ulong> _counters = new(StringComparer.Ordinal);

    // Each live VM's cumulative joules in the last snapshot written; a VM not in it is new and counts in full.
    private Dictionary<WorkloadKey, long> _writtenTotals = [];
    private readonly string _temporarySuffix = ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    public VmPowercapWriter(string root, ILogger logger, ulong maxEnergyRangeMicrojoules = DefaultMaxEnergyRangeMicrojoules)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentOutOfRangeException.ThrowIfZero(maxEnergyRangeMicrojoules);
        _root = root;
        _maxRange = maxEnergyRangeMicrojoules;
        _logger = logger;
        Directory.CreateDirectory(root);
    }

    public string Name => "vm-powercap";

    /// <summary>A guest name as a directory name: libvirt names are [A-Za-z0-9._-]; anything else (a slash) becomes '_'.</summary>
    public static string DirectoryName(string vmName)
    {
        ArgumentNullException.ThrowIfNull(vmName);
        var builder = new StringBuilder(vmName.Length);
        foreach (var c in vmName)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        var name = builder.ToString();
        return name is "" or "." or ".." ? "_" + name : name;
    }

    public void Write(AttributionSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);

        // Two qemu processes may carry the same -name (a hand-started copy): their joules share one counter.
        // Each VM advances by its cumulative joules since the last snapshot written, not by the interval's: the
        // writer skips to the newest snapshot when it falls behind, and a skipped interval must not be lost.
        var intervalByName = new SortedDictionary<string, ulong>(StringComparer.Ordinal);
        var totals = new Dictionary<WorkloadKey, long>(snapshot.Vms.Length);
        foreach (var vm in snapshot.Vms)
        {
            var name = DirectoryName(((VmIdentity)vm.Workload).Name);
            var total = vm.Energy.Total.Microjoules;
            var since = total - _writtenTotals.GetValueOrDefault(vm.Key);
            totals[vm.Key] = total;
            intervalByName[name] = intervalByName.GetValueOrDefault(name) + (ulong)Math.Max(0, since);
        }

        _writtenTotals = totals;

        foreach (var (name, microjoules) in intervalByName)
        {
            var zone = Path.Combine(_root, name, ZoneDirectory);
            if (!_counters.TryGetValue(name, out var counter))
            {
                counter = Start(name, zone, snapshot.Source);
            }

            counter = Advance(counter, microjoules, _maxRange);
            WriteAtomically(Path.Combine(zone, "energy_uj"), counter);
            _counters[name] = counter;
        }
    }

    /// <summary>The counter after <paramref name="microjoules"/> more: RAPL's wrap, so a reader's (max - before) + now is the true delta.</summary>
    public static ulong Advance(ulong counter, ulong microjoules, ulong maxRange)
    {
        var next = (UInt128)counter + microjoules;
        while (next > maxRange)
        {
            next -= maxRange;
        }

        return (ulong)next;
    }

    /// <summary>Lays out a VM's tree on first sight and continues from the counter a previous agent left there.</summary>
    private ulong Start(string name, string zone, EnergySource hostSource)
    {
        Directory.CreateDirectory(zone);
        WriteAtomically(Path.Combine(_root, name, PowercapReader.HypervisorMarkerFile), string.Create(
            CultureInfo.InvariantCulture,
            $"Written by the OtelPower hypervisor agent (otelpower --vm-powercap): {ZoneDirectory}/energy_uj is this VM's share of the host's energy (host source {hostSource.ToName()}).\n"));
        WriteAtomically(Path.Combine(zone, "name"), "package-0\n");
        var maxFile = Path.Combine(zone, "max_energy_range_uj");
        WriteAtomically(maxFile, _maxRange);

        var energyFile = Path.Combine(zone, "energy_uj");
        if (File.Exists(energyFile))
        {
            var text = File.ReadAllText(energyFile).Trim();
            if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var onDisk) && onDisk <= _maxRange)
            {
                LogContinuing(_logger, name, onDisk);
                return onDisk;
            }

            LogUnreadableCounter(_logger, energyFile, text);
        }

        WriteAtomically(energyFile, 0UL);
        return 0;
    }

    private void WriteAtomically(string path, ulong value) => WriteAtomically(path, value.ToString(CultureInfo.InvariantCulture) + "\n");

    /// <summary>A complete temporary file in the same directory, then rename(2) over the old one: a reader sees the old or the new value, never a part.</summary>
    private void WriteAtomically(string path, string contents)
    {
        var temporary = path + _temporarySuffix;
        File.WriteAllText(temporary, contents);
        File.Move(temporary, path, overwrite: true);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "VM {Vm}: continuing its virtual powercap counter from {Microjoules} µJ on disk")]
    private static partial void LogContinuing(ILogger logger, string vm, ulong microjoules);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File} holds '{Text}', not a counter within max_energy_range_uj; restarting it from 0")]
    private static partial void LogUnreadableCounter(ILogger logger, string file, string text);
}
