using System.Buffers.Text;
using System.Collections.Immutable;
using System.Globalization;
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
    private readonly Dictionary<string, WorkloadIdentity?> _workloadsByCgroup = new(StringComparer.Ordinal);
    // A sample's readings go straight into the array it returns, sized by the previous sample's count: with as
    // many processes as last time it is returned as is, not copied out of a list; and it is new, so storing each
    // reading's identity into it costs no card marking of an old array that every gen0 GC then scans.
    private ProcessCpuReading[] _readings = [];
    private int _readingCount;
    private readonly byte[] _nulTerminatedRoot;
    private readonly byte[] _entries = new byte[32 * 1024]; // getdents64 batches: about 1,000 pids each
    private byte[] _buffer = new byte[4096];
    private int[] _listedPids = new int[1024]; // the pid of each of _readings, the key they are sorted by
    private long _generation;

    public ProcfsReader(string procfsRoot, bool includeCommandLine, bool readContainers = true)
    {
        ArgumentNullException.ThrowIfNull(procfsRoot);
        ProcfsRoot = procfsRoot;
        _includeCommandLine = includeCommandLine;
        _readContainers = readContainers;
        StatPath = Path.Combine(procfsRoot, "stat");
        _nulTerminatedRoot = Encoding.UTF8.GetBytes(procfsRoot + "\0");
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

    /// <summary>
    /// Every live process with its CPU time, sorted by (pid, start). Vanished processes are skipped. The root
    /// is opened once per sample and listed and read through that one descriptor. Throws
    /// <see cref="IOException"/> naming the root when it cannot be listed.
    /// </summary>
    public ImmutableArray<ProcessCpuReading> ReadProcesses()
    {
        _generation++;
        _readings = new ProcessCpuReading[_readingCount];
        _readingCount = 0;
        var root = RawFileReader.OpenDirectory(_nulTerminatedRoot, out var error);
        if (root < 0)
        {
            throw ListingFailed(error);
        }

        try
        {
            // "4294967295/stat" and a NUL: the longest relative path a pid name (at most 10 digits) makes.
            Span<byte> statPath = stackalloc byte[16];
            int filled;
            while ((filled = RawFileReader.ReadDirectoryEntries(root, _entries, out error)) > 0)
            {
                ReadListedProcesses(root, _entries.AsSpan(0, filled), statPath);
            }

            if (filled < 0)
            {
                throw ListingFailed(error);
            }
        }
        finally
        {
            RawFileReader.CloseDescriptor(root);
        }

        PruneVanished();
        var array = _readings;
        if (_readingCount != array.Length)
        {
            Array.Resize(ref array, _readingCount);
        }

        _readings = [];

        // procfs lists pids in ascending order, each once, so the listing is sorted already; a fixture tree's
        // directory (or another filesystem's order) is sorted here. A listing names each pid once, so the pid
        // alone orders it by (pid, start), and int keys sort without a comparer call per comparison.
        var pids = _listedPids.AsSpan(0, array.Length);
        if (!IsSorted(pids))
        {
            pids.Sort(array.AsSpan());
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(array);
    }

    /// <summary>A pid name: 1 to 10 ASCII digits, at most <see cref="int.MaxValue"/>.</summary>
    internal static bool TryParsePid(ReadOnlySpan<byte> name, out int pid)
    {
        // A leading digit rules out the sign Utf8Parser would accept; consuming the whole name rules out the rest.
        if (name.Length is > 0 and <= 10 && char.IsAsciiDigit((char)name[0])
            && Utf8Parser.TryParse(name, out pid, out var consumed) && consumed == name.Length)
        {
            return true;
        }

        pid = 0;
        return false;
    }

    private static bool IsSorted(ReadOnlySpan<int> pids)
    {
        for (var i = 1; i < pids.Length; i++)
        {
            if (pids[i - 1] > pids[i])
            {
                return false;
            }
        }

        return true;
    }

    // One getdents64 batch: records of d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), then the name and a NUL.
    private void ReadListedProcesses(int root, ReadOnlySpan<byte> records, Span<byte> statPath)
    {
        const int LengthOffset = 16;
        const int NameOffset = 19;
        while (records.Length > NameOffset)
        {
            var recordLength = MemoryMarshal.Read<ushort>(records[LengthOffset..]);
            if (recordLength <= NameOffset || recordLength > records.Length)
            {
                return; // not a record the kernel writes; the rest of the batch cannot be trusted
            }

            var name = records[NameOffset..recordLength];
            var end = name.IndexOf((byte)0);
            name = end < 0 ? name : name[..end];
            records = records[recordLength..];
            if (!TryParsePid(name, out var pid))
            {
                continue;
            }

            name.CopyTo(statPath);
            "/stat\0"u8.CopyTo(statPath[name.Length..]);
            if (TryReadProcess(root, pid, statPath, out var reading))
            {
                if (_readingCount == _listedPids.Length)
                {
                    Array.Resize(ref _listedPids, _listedPids.Length * 2);
                }

                if (_readingCount == _readings.Length)
                {
                    Array.Resize(ref _readings, Math.Max(16, _readings.Length + (_readings.Length / 2)));
                }

                _listedPids[_readingCount] = pid;
                _readings[_readingCount++] = reading;
            }
        }
    }

    private IOException ListingFailed(int error) =>
        error == 2 /* ENOENT */
            ? new DirectoryNotFoundException($"{ProcfsRoot}: cannot list processes: not found")
            : new IOException($"{ProcfsRoot}: cannot list processes: {Marshal.GetPInvokeErrorMessage(error)}");

    private bool TryReadProcess(int root, int pid, ReadOnlySpan<byte> statPath, out ProcessCpuReading reading)
    {
        reading = default;

        // A stat line is under 1 KiB even with a 64-byte comm; a longer one is malformed and fails to parse.
        if (!RawFileReader.TryReadAt(root, statPath, _buffer, out var length))
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
        if (!exists || cached.Identity is null) // null: the entry's first identity was never made (it threw)
        {
            cached.Identity = CreateIdentity(key, stat, stat.DecodeComm(line));
        }

        cached.Generation = _generation;
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

        if (_workloadsByCgroup.Count > 4096)
        {
            _workloadsByCgroup.Clear();
        }
    }

    // A struct held in the dictionary's own entries, not an object of its own: a sample touches every process's
    // entry after 0.2 s or more of other work, and each object it had to follow there was a cache miss.
    private struct CachedIdentity
    {
        public ProcessIdentity Identity;
        public long Generation;
    }
}
