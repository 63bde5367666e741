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
    public static SyntheticHostTree Write(string root, int processCount)
    {
        var tree = new SyntheticHostTree(root);
        tree.WriteZone("intel-rapl:0", "package-0", 1_000_000);
        tree.WriteZone("intel-rapl:0:0", "dram", 1_000_000);
        tree.WriteZone("intel-rapl:1", "package-1", 1_000_000);
        tree.WriteCpu(busyTicks: 100_000, idleTicks: 400_000, cpuCount: 64);
        for (var pid = 1; pid <= processCount; pid++)
        {
            tree.WriteProcess(pid + 100, "proc" + (pid % 50).ToString(CultureInfo.InvariantCulture), (ulong)pid * 3, (ulong)pid);
        }

        return tree;
    }
}
