using System.Collections.Immutable;
using System.Globalization;
using OtelPower.Attribution.Pools;

namespace OtelPower.Sensors.Drm;

/// <summary>
/// Per-process GPU time from DRM fdinfo (<c>&lt;procfs&gt;/PID/fdinfo/N</c> of each fd that links to
/// <c>/dev/dri/*</c>), for GPUs without NVML (amdgpu, i915; issue 14). Not thread-safe; one reader owns it.
/// </summary>
/// <remarks>
/// <para><b>The rule.</b> A client (<c>drm-client-id</c> on one <c>drm-pdev</c>) is counted once however many
/// fds (or processes, after a fork) share it, for the lowest pid that holds it. Its usage over an interval is
/// the busiest engine's busy-time delta, in ns (each engine's time divided by its
/// <c>drm-engine-capacity-</c>; for drivers that count cycles, Intel <c>xe</c>, the interval times
/// d<c>drm-cycles-</c> / (d<c>drm-total-cycles-</c> x capacity)): engines run in parallel, so a client that keeps one engine busy the whole
/// interval holds the device for the whole interval. A process's usage of a GPU is the sum over its clients;
/// the capacity is the interval in ns, so a GPU busy for half the interval leaves half its energy idle.
/// A client first seen in this read has no delta yet: it counts from the next read.</para>
/// <para>A process that exits while being read, or an fd closed meanwhile, is skipped silently: that is what a
/// live host does.</para>
/// </remarks>
internal sealed class DrmUsageReader
{
    private const string DriPrefix = "/dev/dri/";

    private readonly string _procfsRoot;
    private readonly TimeProvider _timeProvider;
    private Dictionary<(string Pdev, ulong Client), DrmFdinfo> _previous = [];
    private long? _previousTimestamp;

    public DrmUsageReader(string procfsRoot, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(procfsRoot);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _procfsRoot = procfsRoot;
        _timeProvider = timeProvider;
    }

    /// <summary>Reads every DRM client now.</summary>
    /// <returns>The interval's length in ns (the capacity of every GPU) and each device's usage by pid, sorted.</returns>
    public (ulong CapacityNanoseconds, IReadOnlyDictionary<string, ImmutableArray<PoolProcessUsage>> UsageByPciAddress) Read()
    {
        var now = _timeProvider.GetTimestamp();
        var capacity = _previousTimestamp is { } before ? (ulong)Math.Max(1, _timeProvider.GetElapsedTime(before, now).Ticks * 100) : 1UL;
        _previousTimestamp = now;

        var current = new Dictionary<(string Pdev, ulong Client), DrmFdinfo>();
        var owners = new Dictionary<(string Pdev, ulong Client), int>();
        foreach (var (pid, fdinfo) in ReadClients())
        {
            var key = (fdinfo.PciAddress, fdinfo.ClientId);
            if (!owners.TryGetValue(key, out var owner) || pid < owner)
            {
                owners[key] = pid;
            }

            current[key] = fdinfo;
        }

        var usage = new Dictionary<string, SortedDictionary<int, ulong>>(StringComparer.Ordinal);
        foreach (var (key, fdinfo) in current)
        {
            if (!_previous.TryGetValue(key, out var previous))
            {
                continue;
            }

            ulong busiest = 0;
            foreach (var (engine, ns) in fdinfo.Engines)
            {
                var delta = previous.Engines.TryGetValue(engine, out var was) && ns >= was ? ns - was : 0;
                busiest = Math.Max(busiest, delta);
            }

            foreach (var (engine, cycles) in fdinfo.CycleEngines)
            {
                if (previous.CycleEngines.TryGetValue(engine, out var was))
                {
                    busiest = Math.Max(busiest, cycles.BusyNanosecondsSince(was, capacity));
                }
            }

            if (!usage.TryGetValue(key.Pdev, out var byPid))
            {
                usage[key.Pdev] = byPid = [];
            }

            byPid[owners[key]] = byPid.GetValueOrDefault(owners[key]) + busiest;
        }

        _previous = current;
        var result = new Dictionary<string, ImmutableArray<PoolProcessUsage>>(StringComparer.Ordinal);
        foreach (var (pdev, byPid) in usage)
        {
            result[pdev] = [.. byPid.Select(p => new PoolProcessUsage(p.Key, p.Value))];
        }

        return (capacity, result);
    }

    private IEnumerable<(int Pid, DrmFdinfo Fdinfo)> ReadClients()
    {
        IEnumerable<string> processes;
        try
        {
            processes = Directory.EnumerateDirectories(_procfsRoot);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            yield break;
        }

        foreach (var directory in processes)
        {
            if (!int.TryParse(Path.GetFileName(directory.AsSpan()), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            foreach (var fdinfo in ReadProcess(directory))
            {
                yield return (pid, fdinfo);
            }
        }
    }

    private static List<DrmFdinfo> ReadProcess(string directory)
    {
        var clients = new List<DrmFdinfo>();
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(directory, "fd")))
            {
                string? target;
                try
                {
                    target = new FileInfo(fd).LinkTarget;
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    continue;
                }

                if (target is null || !target.StartsWith(DriPrefix, StringComparison.Ordinal))
                {
                    continue;
                }

                try
                {
                    var text = File.ReadAllText(Path.Combine(directory, "fdinfo", Path.GetFileName(fd)));
                    if (DrmFdinfo.TryParse(text, out var fdinfo))
                    {
                        clients.Add(fdinfo!);
                    }
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    // the fd was closed between the listing and the read
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // the process exited, or its fds are not ours to read (not root)
        }

        return clients;
    }
}
