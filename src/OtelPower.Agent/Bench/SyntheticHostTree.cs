using System.Globalization;

namespace OtelPower.Agent.Bench;

/// <summary>
/// Writes a procfs and sysfs tree that the agent can read like a real host: RAPL zones, /proc/stat and
/// /proc/PID/stat files. The bench command measures against it; end-to-end tests advance it between
/// samples. Files are replaced atomically (write, then rename), so a reader never sees half a file.
/// </summary>
internal sealed class SyntheticHostTree
{
    public const ulong PackageRangeMicrojoules = 262_143_328_850;

    public SyntheticHostTree(string root)
    {
        Root = root;
        Procfs = Path.Combine(root, "proc");
        Sysfs = Path.Combine(root, "sys");
        Directory.CreateDirectory(Procfs);
        Directory.CreateDirectory(Path.Combine(Sysfs, "class", "powercap"));
    }

    public string Root { get; }

    public string Procfs { get; }

    public string Sysfs { get; }

    public void WriteZone(string id, string name, ulong energyMicrojoules, ulong maxRangeMicrojoules = PackageRangeMicrojoules)
    {
        var zone = Path.Combine(Sysfs, "class", "powercap", id);
        Directory.CreateDirectory(zone);
        WriteAtomically(Path.Combine(zone, "name"), name + "\n");
        WriteAtomically(Path.Combine(zone, "max_energy_range_uj"), maxRangeMicrojoules.ToString(CultureInfo.InvariantCulture) + "\n");
        WriteEnergy(id, energyMicrojoules);
    }

    public void WriteEnergy(string id, ulong energyMicrojoules) =>
        WriteAtomically(Path.Combine(Sysfs, "class", "powercap", id, "energy_uj"), energyMicrojoules.ToString(CultureInfo.InvariantCulture) + "\n");

    /// <summary>Writes /proc/stat with the busy ticks as user time, spread evenly over <paramref name="cpuCount"/> CPUs.</summary>
    public void WriteCpu(ulong busyTicks, ulong idleTicks, int cpuCount)
    {
        var lines = new List<string> { CpuLine("cpu ", busyTicks, idleTicks) };
        for (var cpu = 0; cpu < cpuCount; cpu++)
        {
            lines.Add(CpuLine("cpu" + cpu.ToString(CultureInfo.InvariantCulture), busyTicks / (ulong)cpuCount, idleTicks / (ulong)cpuCount));
        }

        lines.Add("intr 0");
        lines.Add("ctxt 0");
        lines.Add("btime 1764000000");
        WriteAtomically(Path.Combine(Procfs, "stat"), string.Join('\n', lines) + "\n");
    }

    /// <summary>Writes /proc/PID/stat with utime = <paramref name="cpuTicks"/> and stime = 0, and an exe link.</summary>
    public void WriteProcess(int pid, string comm, ulong cpuTicks, ulong startTicks, int parentPid = 1, string? commandLine = null)
    {
        var directory = Path.Combine(Procfs, pid.ToString(CultureInfo.InvariantCulture));
        var isNew = !Directory.Exists(directory);
        Directory.CreateDirectory(directory);
        var fields = string.Join(' ', new[]
        {
            parentPid, pid, 0, 0, -1, 4194560, 100, 0, 0, 0, // ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        }.Select(n => n.ToString(CultureInfo.InvariantCulture)));
        var line = string.Create(
            CultureInfo.InvariantCulture,
            $"{pid} ({comm}) S {fields} {cpuTicks} 0 0 0 20 0 1 0 {startTicks} 10485760 512 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
        WriteAtomically(Path.Combine(directory, "stat"), line);
        if (isNew)
        {
            WriteAtomically(Path.Combine(directory, "cmdline"), (commandLine ?? comm).Replace(' ', '\0') + "\0");
            File.CreateSymbolicLink(Path.Combine(directory, "exe"), "/usr/bin/" + comm);
        }
    }

    public void RemoveProcess(int pid)
    {
        var directory = Path.Combine(Procfs, pid.ToString(CultureInfo.InvariantCulture));
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string CpuLine(string label, ulong busyTicks, ulong idleTicks) =>
        string.Create(CultureInfo.InvariantCulture, $"{label} {busyTicks} 0 0 {idleTicks} 0 0 0 0 0 0");

    private static void WriteAtomically(string path, string contents)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, contents);
        File.Move(temporary, path, overwrite: true);
    }
}
