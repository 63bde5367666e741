using System.Collections.Immutable;
using System.Globalization;
using OtelPower.Attribution;
using OtelPower.Sensors.Vms;

namespace OtelPower.Sensors.Cgroups;

/// <summary>
/// Finds workload cgroups (containers, libvirt VM scopes) under the cgroup root and reads their cumulative CPU time. The tree is walked
/// (not just the cgroups of live processes) so a container whose processes all exited between two samples
/// is still measured. cgroup v2 (<c>cgroup.controllers</c> at the root): <c>cpu.stat</c> usage_usec.
/// cgroup v1 and hybrid: the <c>cpuacct</c> hierarchy's <c>cpuacct.usage</c> (nanoseconds).
/// </summary>
internal sealed class CgroupCpuReader
{
    // Container cgroups sit at most this deep (/kubepods.slice/kubepods-burstable.slice/...-pod.slice/cri-containerd-ID.scope).
    private const int MaxDepth = 6;

    private readonly string _hierarchyRoot;
    private readonly bool _isUnified;

    public CgroupCpuReader(string cgroupfsRoot)
    {
        ArgumentNullException.ThrowIfNull(cgroupfsRoot);
        CgroupfsRoot = cgroupfsRoot;
        if (File.Exists(Path.Combine(cgroupfsRoot, "cgroup.controllers")))
        {
            _isUnified = true;
            _hierarchyRoot = cgroupfsRoot;
        }
        else
        {
            _hierarchyRoot = new[] { "cpu,cpuacct", "cpuacct,cpu", "cpuacct" }
                .Select(name => Path.Combine(cgroupfsRoot, name))
                .FirstOrDefault(Directory.Exists) ?? cgroupfsRoot;
        }
    }

    public string CgroupfsRoot { get; }

    /// <summary>"v2" or "v1": which accounting this reader uses.</summary>
    public string Version => _isUnified ? "v2" : "v1";

    public bool IsAvailable => Directory.Exists(_hierarchyRoot);

    /// <summary>Every container cgroup with its CPU time, sorted by container id. A cgroup removed mid-walk is skipped.</summary>
    public ImmutableArray<ContainerCpuReading> Read() =>
        [.. ReadWorkloads().Where(static w => w.Workload is ContainerIdentity).Select(static w => new ContainerCpuReading((ContainerIdentity)w.Workload, w.CpuMicroseconds))];

    /// <summary>
    /// Every workload cgroup (containers and VM scopes) with its CPU time, sorted by <see cref="WorkloadKey"/>.
    /// A VM found here is named from its scope; the sampler swaps in what its qemu command line says.
    /// </summary>
    public ImmutableArray<WorkloadCpuReading> ReadWorkloads()
    {
        if (!IsAvailable)
        {
            return [];
        }

        var found = new Dictionary<WorkloadKey, WorkloadCpuReading>();
        Walk(_hierarchyRoot, "/", 0, found);
        return [.. found.Values.OrderBy(static r => r.Key)];
    }

    /// <summary>The workload a cgroup path is the own cgroup of (a container's, a VM's scope), or null.</summary>
    public static WorkloadIdentity? WorkloadAt(string cgroupPath) =>
        ContainerPath.TryParse(cgroupPath, out var container) ? container
        : VmCgroupPath.TryParse(cgroupPath, out var scope, out var name) ? new VmIdentity(name!, null, null, scope)
        : null;

    private void Walk(string directory, string cgroupPath, int depth, Dictionary<WorkloadKey, WorkloadCpuReading> found)
    {
        IEnumerable<string> children;
        try
        {
            children = Directory.EnumerateDirectories(directory);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return; // removed while we walked, or not ours to read
        }

        foreach (var child in children)
        {
            var name = Path.GetFileName(child);
            var childPath = cgroupPath == "/" ? "/" + name : cgroupPath + "/" + name;
            var workload = WorkloadAt(childPath);
            if (workload is ContainerIdentity { CgroupPath: var own } && own == childPath || workload is VmIdentity { CgroupPath: var scope } && scope == childPath)
            {
                // The workload's own cgroup (not one nested below it) holds the whole workload's usage.
                if (!found.ContainsKey(workload.Key) && TryReadMicroseconds(child, out var microseconds))
                {
                    found[workload.Key] = new WorkloadCpuReading(workload, microseconds);
                }

                continue;
            }

            if (depth + 1 < MaxDepth)
            {
                Walk(child, childPath, depth + 1, found);
            }
        }
    }

    private bool TryReadMicroseconds(string cgroupDirectory, out ulong microseconds)
    {
        microseconds = 0;
        try
        {
            if (_isUnified)
            {
                foreach (var line in File.ReadLines(Path.Combine(cgroupDirectory, "cpu.stat")))
                {
                    if (line.StartsWith("usage_usec ", StringComparison.Ordinal))
                    {
                        return ulong.TryParse(line.AsSpan("usage_usec ".Length), NumberStyles.None, CultureInfo.InvariantCulture, out microseconds);
                    }
                }

                return false;
            }

            var text = File.ReadAllText(Path.Combine(cgroupDirectory, "cpuacct.usage")).AsSpan().Trim();
            if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var nanoseconds))
            {
                microseconds = nanoseconds / 1000;
                return true;
            }

            return false;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
