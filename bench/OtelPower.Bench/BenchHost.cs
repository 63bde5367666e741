using System.Globalization;
using OtelPower.Testing;

namespace OtelPower.Bench;

/// <summary>
/// The host every benchmark measures: three RAPL zones, 64 CPUs and N processes with distinct CPU times,
/// written as a <see cref="SyntheticHostTree"/> so the agent, prometheus-process-exporter and the C read floor
/// all read the same files.
/// </summary>
internal static class BenchHost
{
    private const string Limits = "Limit                     Soft Limit           Hard Limit           Units     \n"
        + "Max open files            1024                 524288               files     \n";

    private const string Io = "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n";

    public static SyntheticHostTree Write(string root, int processCount, bool withPeerFiles = false)
    {
        var tree = new SyntheticHostTree(root);
        tree.WriteZone("intel-rapl:0", "package-0", 1_000_000);
        tree.WriteZone("intel-rapl:0:0", "dram", 1_000_000);
        tree.WriteZone("intel-rapl:1", "package-1", 1_000_000);
        tree.WriteCpu(busyTicks: 100_000, idleTicks: 400_000, cpuCount: 64);
        for (var pid = 1; pid <= processCount; pid++)
        {
            tree.WriteProcess(pid + 100, "proc" + (pid % 50).ToString(CultureInfo.InvariantCulture), (ulong)pid * 3, (ulong)pid);
            if (withPeerFiles)
            {
                WritePeerFiles(tree.Procfs, pid + 100, "proc" + (pid % 50).ToString(CultureInfo.InvariantCulture));
            }
        }

        return tree;
    }

    /// <summary>
    /// The files prometheus-process-exporter needs besides <c>stat</c> (it counts a process whose
    /// <c>status</c>, <c>limits</c> or <c>task</c> is missing as a read error and drops it). The agent reads none of them.
    /// </summary>
    private static void WritePeerFiles(string procfs, int pid, string comm)
    {
        var directory = Path.Combine(procfs, pid.ToString(CultureInfo.InvariantCulture));
        var status = string.Create(
            CultureInfo.InvariantCulture,
            $"Name:\t{comm}\nState:\tS (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmPeak:\t10240 kB\nVmSize:\t10240 kB\nVmHWM:\t2048 kB\nVmRSS:\t2048 kB\nRssAnon:\t1024 kB\nRssFile:\t1024 kB\nVmSwap:\t0 kB\nThreads:\t1\nvoluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t1\n");
        File.WriteAllText(Path.Combine(directory, "status"), status);
        File.WriteAllText(Path.Combine(directory, "limits"), Limits);
        File.WriteAllText(Path.Combine(directory, "io"), Io);
        Directory.CreateDirectory(Path.Combine(directory, "fd"));
        var task = Directory.CreateDirectory(Path.Combine(directory, "task", pid.ToString(CultureInfo.InvariantCulture))).FullName;
        File.Copy(Path.Combine(directory, "stat"), Path.Combine(task, "stat"));
        File.WriteAllText(Path.Combine(task, "status"), status);
        File.WriteAllText(Path.Combine(task, "io"), Io);
    }
}
