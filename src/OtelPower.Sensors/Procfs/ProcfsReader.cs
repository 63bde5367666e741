using System.Collections.Immutable;
using System.Globalization;
using System.IO.Enumeration;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using OtelPower.Attribution;
using OtelPower.Sensors.Cgroups;
using OtelPower.Sensors.Vms;

namespace OtelPower.Sensors.Procfs;

/// <summary>
/// Reads CPU time from a procfs tree. What does not change while a process lives (comm, exe, cmdline,
/// container) is read once and cached under (pid, start time); each sample then costs one open and read
/// of <c>/proc/PID/stat</c> per process, into a reused buffer. Not thread-safe: one sampling loop owns it.
/// </summary>
internal sealed class ProcfsReader
{
    private const int MaxCommandLineLength = 4096;

    private readonly bool _includeCommandLine;
    private readonly bool _readContainers;
    private readonly Dictionary<ProcessKey, CachedIdentity> _identities = [];
    private readonly Dictionary<int, byte[]> _statPaths = []; // NUL-terminated UTF-8 paths for RawFileReader
    private readonly Dictionary<string, WorkloadIdentity?> _workloadsByCgroup = new(StringComparer.Ordinal);
    private readonly List<ProcessCpuReading> _readings = [];
    private byte[] _buffer = new byte[4096];
    private long _generation;

    public ProcfsReader(string procfsRoot, bool includeCommandLine, bool readContainers = true)
    {
        ArgumentNullException.ThrowIfNull(procfsRoot);
        ProcfsRoot = procfsRoot;
        _includeCommandLine = includeCommandLine;
        _readContainers = readContainers;
        StatPath = Path.Combine(procfsRoot, "stat");
    }

    public string ProcfsRoot { get; }

    /// <summary>The host CPU-time file, <c>&lt;procfs&gt;/stat</c>.</summary>
    public string StatPath { get; }

    /// <summary>Processes whose identity is cached; it follows the live process count.</summary>
    public int CachedProcessCount => _identities.Count;

    /// <summary>Reads <c>/proc/stat</c>. Throws <see cref="IOException"/> or <see cref="InvalidDataException"/> naming the file.</summary>
    public (CpuTimes Times, int CpuCount) ReadCpu()
    {
        var length = ReadWhole(StatPath);
        if (!CpuStat.TryParse(_buffer.AsSpan(0, length), out var times, out var cpuCount))
        {
            throw new InvalidDataException($"{StatPath}: no well-formed 'cpu' line (expected 'cpu  user nice system idle ...').");
        }

        return (times, Math.Max(cpuCount, 1));
    }

    /// <summary>
    /// Time since boot from <c>/proc/uptime</c> in clock ticks, the clock of a process's start time (field 22
    /// of its stat); 0 when the file is absent or malformed (fixture trees without it), which turns off
    /// first-interval attribution rather than guessing.
    /// </summary>
    public ulong ReadUptimeTicks(long clockTicksPerSecond)
    {
        try
        {
            var length = ReadWhole(Path.Combine(ProcfsRoot, "uptime"));
            var text = System.Text.Encoding.ASCII.GetString(_buffer, 0, length);
            var end = text.IndexOf(' ', StringComparison.Ordinal);
            return decimal.TryParse(end < 0 ? text.Trim() : text[..end], System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                ? (ulong)(seconds * clockTicksPerSecond)
                : 0UL;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Every live process with its CPU time, sorted by (pid, start). Vanished processes are skipped.</summary>
    public ImmutableArray<ProcessCpuReading> ReadProcesses()
    {
        _generation++;
        _readings.Clear();
        foreach (var pid in EnumeratePids())
        {
            if (TryReadProcess(pid, out var reading))
            {
                _readings.Add(reading);
            }
        }

        PruneVanished();
        var array = _readings.ToArray();
        Array.Sort(array, static (a, b) => a.Key.CompareTo(b.Key));
        return ImmutableCollectionsMarshal.AsImmutableArray(array);
    }

    private IEnumerable<int> EnumeratePids()
    {
        var enumerable = new FileSystemEnumerable<int>(
            ProcfsRoot,
            static (ref FileSystemEntry entry) => int.Parse(entry.FileName, NumberStyles.None, CultureInfo.InvariantCulture),
            new EnumerationOptions { RecurseSubdirectories = false, IgnoreInaccessible = true, AttributesToSkip = 0 })
        {
            ShouldIncludePredicate = static (ref FileSystemEntry entry) => IsPidName(entry.FileName),
        };
        return enumerable;
    }

    private static bool IsPidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > 10)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private bool TryReadProcess(int pid, out ProcessCpuReading reading)
    {
        reading = default;
        ref var statPath = ref CollectionsMarshal.GetValueRefOrAddDefault(_statPaths, pid, out _);
        statPath ??= Encoding.UTF8.GetBytes(Path.Combine(ProcfsRoot, pid.ToString(CultureInfo.InvariantCulture), "stat") + "\0");

        // A stat line is under 1 KiB even with a 64-byte comm; a longer one is malformed and fails to parse.
        if (!RawFileReader.TryRead(statPath, _buffer, out var length))
        {
            return false; // exited between listing and reading (ENOENT, ESRCH): normal, not an error
        }

        var line = _buffer.AsSpan(0, length);
        if (!ProcessStat.TryParse(line, out var stat) || stat.Pid != pid)
        {
            return false;
        }

        var key = new ProcessKey(pid, stat.StartTicks);
        ref var cached = ref CollectionsMarshal.GetValueRefOrAddDefault(_identities, key, out var exists);
        if (!exists)
        {
            cached = new CachedIdentity(CreateIdentity(key, stat, stat.DecodeComm(line)));
        }

        cached!.Generation = _generation;
        reading = new ProcessCpuReading(cached.Identity, stat.CpuTicks);
        return true;
    }

    private ProcessIdentity CreateIdentity(ProcessKey key, ProcessStat stat, string comm)
    {
        var directory = Path.Combine(ProcfsRoot, key.Pid.ToString(CultureInfo.InvariantCulture));
        var executable = stat.IsKernelThread ? comm : ReadExecutableName(directory) ?? comm;
        var isQemu = !stat.IsKernelThread && QemuCommandLine.LooksLikeQemu(comm, executable);

        // A qemu's arguments are read to name its VM even without --include-cmdline; only name and uuid are kept.
        var arguments = _includeCommandLine || isQemu ? ReadCommandLineBytes(directory) : null;
        var commandLine = _includeCommandLine && !stat.IsKernelThread ? CommandLineText(arguments) : null;
        var workload = _readContainers && !stat.IsKernelThread ? ReadWorkload(directory) : null;
        if (isQemu && workload is not ContainerIdentity && arguments is not null && QemuCommandLine.TryParse(arguments, out var name, out var uuid))
        {
            // A libvirt domain is measured from its scope; a qemu started by hand from its own process.
            var scope = workload as VmIdentity;
            workload = new VmIdentity(name ?? scope?.Name ?? "qemu-" + key.Pid.ToString(CultureInfo.InvariantCulture), uuid, key, scope?.CgroupPath);
        }

        return new ProcessIdentity(key, comm, executable, commandLine, stat.IsKernelThread, workload);
    }

    private static string? ReadExecutableName(string processDirectory)
    {
        try
        {
            var target = new FileInfo(Path.Combine(processDirectory, "exe")).LinkTarget;
            if (string.IsNullOrEmpty(target))
            {
                return null;
            }

            // A replaced binary reads "/usr/bin/app (deleted)".
            const string Deleted = " (deleted)";
            if (target.EndsWith(Deleted, StringComparison.Ordinal))
            {
                target = target[..^Deleted.Length];
            }

            var name = Path.GetFileName(target);
            return name.Length > 0 ? name : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null; // another user's process without CAP_SYS_PTRACE, or gone
        }
    }

    private static byte[]? ReadCommandLineBytes(string processDirectory)
    {
        try
        {
            return File.ReadAllBytes(Path.Combine(processDirectory, "cmdline"));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? CommandLineText(byte[]? bytes)
    {
        if (bytes is null)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, MaxCommandLineLength)).Replace('\0', ' ').Trim();
        return text.Length > 0 ? text : null;
    }

    private WorkloadIdentity? ReadWorkload(string processDirectory)
    {
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(processDirectory, "cgroup"));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        if (!CgroupMembership.TryParse(text, out var membership) || membership!.ContainerLookupPath is not { } path)
        {
            return null;
        }

        // Many processes share a cgroup; parse each path once and share the identity.
        ref var workload = ref CollectionsMarshal.GetValueRefOrAddDefault(_workloadsByCgroup, path, out var known);
        if (!known)
        {
            workload = CgroupCpuReader.WorkloadAt(path);
        }

        return workload;
    }

    private int ReadWhole(string path)
    {
        using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var total = 0;
        while (true)
        {
            if (total == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var read = RandomAccess.Read(handle, _buffer.AsSpan(total), total);
            if (read == 0)
            {
                return total;
            }

            total += read;
        }
    }

    private void PruneVanished()
    {
        foreach (var (key, cached) in _identities)
        {
            if (cached.Generation != _generation)
            {
                _identities.Remove(key);
            }
        }

        if (_statPaths.Count > 2 * Math.Max(_identities.Count, 64))
        {
            _statPaths.Clear();
        }

        if (_workloadsByCgroup.Count > 4096)
        {
            _workloadsByCgroup.Clear();
        }
    }

    private sealed class CachedIdentity(ProcessIdentity identity)
    {
        public ProcessIdentity Identity { get; } = identity;

        public long Generation { get; set; }
    }
}
