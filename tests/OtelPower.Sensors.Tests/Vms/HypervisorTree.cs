using System.Globalization;

namespace OtelPower.Sensors.Tests.Vms;

/// <summary>
/// A fixture hypervisor written by the test: /proc/stat, qemu and other processes (stat, cmdline, exe, cgroup)
/// and a cgroup v2 tree with libvirt scopes. Each write replaces the file, so a test steps it between samples.
/// </summary>
internal sealed class HypervisorTree : IDisposable
{
    public const string UserHz = "100";

    public HypervisorTree()
    {
        Root = Path.Combine(Path.GetTempPath(), "otelpower-hypervisor-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Procfs);
        Directory.CreateDirectory(Cgroupfs);
        File.WriteAllText(Path.Combine(Cgroupfs, "cgroup.controllers"), "cpu memory pids\n");
        Directory.CreateDirectory(Path.Combine(Root, "sys"));
        Cpu(0);
    }

    public string Root { get; }

    public string Procfs => Path.Combine(Root, "proc");

    public string Sysfs => Path.Combine(Root, "sys");

    public string Cgroupfs => Path.Combine(Root, "cgroup");

    public void Cpu(ulong totalTicks) =>
        File.WriteAllText(Path.Combine(Procfs, "stat"), string.Create(CultureInfo.InvariantCulture, $"cpu  {totalTicks} 0 0 0 0 0 0 0 0 0\ncpu0 {totalTicks} 0 0 0 0 0 0 0 0 0\n"));

    /// <summary>A process: comm, exe, NUL-separated arguments, cgroup, CPU ticks (utime) and start.</summary>
    public void Process(int pid, string comm, string exe, string[] arguments, string cgroup, ulong cpuTicks, ulong startTicks = 500, bool kernelThread = false)
    {
        var directory = Path.Combine(Procfs, pid.ToString(CultureInfo.InvariantCulture));
        if (Directory.Exists(directory) && File.ReadAllText(Path.Combine(directory, "stat")).Split(' ')[21] != startTicks.ToString(CultureInfo.InvariantCulture))
        {
            Directory.Delete(directory, recursive: true); // the pid was reused
        }

        Directory.CreateDirectory(directory);
        var parent = kernelThread ? 2 : 1;
        File.WriteAllText(Path.Combine(directory, "stat"), string.Create(
            CultureInfo.InvariantCulture,
            $"{pid} ({comm}) S {parent} {pid} {pid} 0 -1 4194560 100 0 0 0 {cpuTicks} 0 0 0 20 0 1 0 {startTicks} 10485760 512 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"));
        File.WriteAllText(Path.Combine(directory, "cmdline"), kernelThread ? string.Empty : string.Join('\0', arguments) + "\0");
        File.WriteAllText(Path.Combine(directory, "cgroup"), "0::" + cgroup + "\n");
        var exeLink = Path.Combine(directory, "exe");
        if (!kernelThread && !File.Exists(exeLink) && new FileInfo(exeLink).LinkTarget is null)
        {
            File.CreateSymbolicLink(exeLink, exe);
        }
    }

    public void Exit(int pid) => Directory.Delete(Path.Combine(Procfs, pid.ToString(CultureInfo.InvariantCulture)), recursive: true);

    /// <summary>A cgroup's cpu.stat usage_usec (directories created as needed).</summary>
    public void CgroupUsage(string cgroupPath, ulong usageMicroseconds)
    {
        var directory = Path.Combine(Cgroupfs, cgroupPath.TrimStart('/'));
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "cpu.stat"), string.Create(CultureInfo.InvariantCulture, $"usage_usec {usageMicroseconds}\nuser_usec {usageMicroseconds}\nsystem_usec 0\n"));
    }

    public void RemoveCgroup(string cgroupPath) => Directory.Delete(Path.Combine(Cgroupfs, cgroupPath.TrimStart('/')), recursive: true);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
