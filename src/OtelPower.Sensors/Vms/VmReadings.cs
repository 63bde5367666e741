using System.Collections.Immutable;
using OtelPower.Attribution;

namespace OtelPower.Sensors.Vms;

/// <summary>
/// Joins the VMs found two ways: libvirt scopes from the cgroup walk (usage of everything the VM runs) and
/// qemu processes (name and uuid from the command line). A VM with a scope keeps the scope's CPU time and
/// takes its qemu's names; a qemu without a scope (started by hand) becomes a VM measured from its process.
/// </summary>
internal static class VmReadings
{
    public static ImmutableArray<WorkloadCpuReading> Join(
        ImmutableArray<WorkloadCpuReading> cgroupWorkloads, ImmutableArray<ProcessCpuReading> processes, long clockTicksPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(clockTicksPerSecond);
        List<WorkloadCpuReading>? result = null;
        foreach (var process in processes)
        {
            if (process.Process.Workload is not VmIdentity vm || vm.Process != process.Key)
            {
                continue; // not a qemu, or a member of a VM's scope other than its qemu
            }

            result ??= [.. cgroupWorkloads];
            if (vm.CgroupPath is null)
            {
                var microseconds = (ulong)((UInt128)process.CpuTicks * 1_000_000 / (ulong)clockTicksPerSecond);
                result.Add(new WorkloadCpuReading(vm, microseconds));
                continue;
            }

            var index = IndexOf(result, vm.Key);
            if (index >= 0 && result[index].Workload is VmIdentity { Process: null })
            {
                result[index] = result[index] with { Workload = vm };
            }
        }

        if (result is null)
        {
            return cgroupWorkloads;
        }

        result.Sort(static (a, b) => a.Key.CompareTo(b.Key));
        return [.. result];
    }

    // Not List.FindIndex with a lambda: a lambda capturing the loop's vm made the compiler allocate its closure at
    // the top of every iteration, for every process (1,000 objects a sample), qemu or not.
    private static int IndexOf(List<WorkloadCpuReading> workloads, WorkloadKey key)
    {
        for (var i = 0; i < workloads.Count; i++)
        {
            if (workloads[i].Key == key)
            {
                return i;
            }
        }

        return -1;
    }
}
