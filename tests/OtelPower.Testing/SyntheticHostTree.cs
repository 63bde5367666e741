using System.Globalization;
using System.Runtime.InteropServices;

namespace OtelPower.Testing;

/// <summary>
/// Writes a procfs and sysfs tree that the agent can read like a real host: RAPL zones, /proc/stat and
/// /proc/PID/stat files. bench/OtelPower.Bench measures against it; end-to-end tests advance it between
/// samples. It lives here, not in the agent, so the shipped binary carries no test scaffolding. A step of
/// several files becomes visible at once: <see cref="BeginStep"/> copies the tree to a new generation directory, the writes go there, and <see cref="CommitStep"/> swaps the <c>current</c>
/// symbolic link in one rename, so a sample never sees half a step.
/// </summary>
public sealed partial class SyntheticHostTree
{
    public const ulong PackageRangeMicrojoules = 262_143_328_850;

    private string _writeRoot;
    private int _generation;

    public SyntheticHostTree(string root)
    {
        Root = root;
        _writeRoot = Path.Combine(root, "gen-0");
        Directory.CreateDirectory(Path.Combine(_writeRoot, "proc"));
        Directory.CreateDirectory(Path.Combine(_writeRoot, "sys", "class", "powercap"));
        Directory.CreateDirectory(Path.Combine(_writeRoot, "cgroup"));
        File.WriteAllText(Path.Combine(_writeRoot, "cgroup", "cgroup.controllers"), "cpu memory pids\n"); // a cgroup v2 root
        // /proc/uptime, as every host has: the sampler reads it to attribute a new process's or cgroup's first interval.
        File.WriteAllText(Path.Combine(_writeRoot, "proc", "uptime"), "100000.00 300000.00\n");
        File.CreateSymbolicLink(Path.Combine(root, "current"), "gen-0");
        Procfs = Path.Combine(root, "current", "proc");
        Sysfs = Path.Combine(root, "current", "sys");
        Cgroupfs = Path.Combine(root, "current", "cgroup");
    }

    public string Root { get; }

    /// <summary>What the agent reads (through the <c>current</c> link).</summary>
    public string Procfs { get; }

    public string Sysfs { get; }

    public string Cgroupfs { get; }

    private string WriteProcfs => Path.Combine(_writeRoot, "proc");

    private string WriteSysfs => Path.Combine(_writeRoot, "sys");

    /// <summary>Starts a step: later writes go to a copy that readers do not see until <see cref="CommitStep"/>.</summary>
    public void BeginStep()
    {
        var next = Path.Combine(Root, "gen-" + (++_generation).ToString(CultureInfo.InvariantCulture));
        DirectoryTree.Copy(new DirectoryInfo(_writeRoot), next);
        _writeRoot = next;
    }

    /// <summary>Makes the step visible at once: rename() of a new link over <c>current</c> is atomic.</summary>
    public void CommitStep()
    {
        var link = Path.Combine(Root, "current.next");
        File.CreateSymbolicLink(link, Path.GetFileName(_writeRoot));

        // rename(2), not File.Move: .NET follows the link to a directory and refuses to move it as a file.
        if (Rename(link, Path.Combine(Root, "current")) != 0)
        {
            throw new IOException($"rename {link}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Rename(string from, string to);

    public void WriteZone(string id, string name, ulong energyMicrojoules, ulong maxRangeMicrojoules = PackageRangeMicrojoules)
    {
        var zone = Path.Combine(WriteSysfs, "class", "powercap", id);
        Directory.CreateDirectory(zone);
        WriteAtomically(Path.Combine(zone, "name"), name + "\n");
        WriteAtomically(Path.Combine(zone, "max_energy_range_uj"), maxRangeMicrojoules.ToString(CultureInfo.InvariantCulture) + "\n");
        WriteEnergy(id, energyMicrojoules);
    }

    public void WriteEnergy(string id, ulong energyMicrojoules) =>
        WriteAtomically(Path.Combine(WriteSysfs, "class", "powercap", id, "energy_uj"), energyMicrojoules.ToString(CultureInfo.InvariantCulture) + "\n");

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
        WriteAtomically(Path.Combine(WriteProcfs, "stat"), string.Join('\n', lines) + "\n");
    }

    /// <summary>Writes /proc/PID/stat with utime = <paramref name="cpuTicks"/> and stime = 0, and an exe link.</summary>
    public void WriteProcess(int pid, string comm, ulong cpuTicks, ulong startTicks, int parentPid = 1, string? commandLine = null, string cgroupPath = "/user.slice")
    {
        var directory = Path.Combine(WriteProcfs, pid.ToString(CultureInfo.InvariantCulture));
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
            WriteAtomically(Path.Combine(directory, "cgroup"), "0::" + cgroupPath + "\n");
        }
    }

    /// <summary>Writes a cgroup v2 <c>cpu.stat</c> at <paramref name="cgroupPath"/> (e.g. a container's scope).</summary>
    public void WriteCgroupCpu(string cgroupPath, ulong usageMicroseconds)
    {
        var directory = Path.Combine(_writeRoot, "cgroup", cgroupPath.TrimStart('/'));
        Directory.CreateDirectory(directory);
        WriteAtomically(Path.Combine(directory, "cpu.stat"), string.Create(CultureInfo.InvariantCulture, $"usage_usec {usageMicroseconds}\nuser_usec {usageMicroseconds}\nsystem_usec 0\n"));
    }

    /// <summary>Writes any file of the tree, <paramref name="relativePath"/> under the root that holds proc, sys and cgroup (an hwmon channel, an fdinfo).</summary>
    public void WriteFile(string relativePath, string contents)
    {
        var path = Path.Combine(_writeRoot, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WriteAtomically(path, contents);
    }

    /// <summary>Creates a symbolic link in the tree (an hwmon chip's <c>device</c>, a process's <c>fd/N</c>), if it is not there yet.</summary>
    public void WriteLink(string relativePath, string target)
    {
        var path = Path.Combine(_writeRoot, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (new FileInfo(path).LinkTarget is null)
        {
            File.CreateSymbolicLink(path, target);
        }
    }

    /// <summary>Removes a cgroup directory (a container that exited) in the step being written.</summary>
    public void RemoveCgroup(string cgroupPath)
    {
        var directory = Path.Combine(_writeRoot, "cgroup", cgroupPath.TrimStart('/'));
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    public void RemoveProcess(int pid)
    {
        var directory = Path.Combine(WriteProcfs, pid.ToString(CultureInfo.InvariantCulture));
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
