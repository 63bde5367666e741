using System.Buffers.Text;
using System.Text;

namespace OtelPower.Sensors.Procfs;

/// <summary>
/// The fields of one <c>/proc/PID/stat</c> line that attribution needs. Parsed from bytes, without
/// allocating: the comm is kept as a range and decoded only for a process seen for the first time.
/// </summary>
internal readonly record struct ProcessStat(int Pid, int ParentPid, uint Flags, ulong UserTicks, ulong SystemTicks, ulong StartTicks, int CommStart, int CommLength)
{
    /// <summary>PF_KTHREAD in include/linux/sched.h.</summary>
    private const uint KernelThreadFlag = 0x00200000;

    /// <summary>utime + stime. cutime/cstime are reaped children, already counted while they ran.</summary>
    public ulong CpuTicks => UserTicks + SystemTicks;

    /// <summary>A kernel thread: PF_KTHREAD set, or kthreadd (pid 2) and its children.</summary>
    public bool IsKernelThread => (Flags & KernelThreadFlag) != 0 || Pid == 2 || ParentPid == 2;

    public string DecodeComm(ReadOnlySpan<byte> line) => Encoding.UTF8.GetString(line.Slice(CommStart, CommLength));

    /// <summary>
    /// Parses <c>pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    /// cutime cstime priority nice threads itrealvalue starttime ...</c>. The comm may hold spaces,
    /// parentheses and newlines, so it ends at the LAST <c>)</c> (as dotnet/runtime's Interop.procfs does).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out ProcessStat stat)
    {
        stat = default;
        var open = line.IndexOf((byte)'(');
        var close = line.LastIndexOf((byte)')');
        if (open <= 0 || close < open)
        {
            return false;
        }

        var pidText = line[..open].TrimEnd((byte)' ');
        if (!Utf8Parser.TryParse(pidText, out int pid, out var consumed) || consumed != pidText.Length)
        {
            return false;
        }

        // After ") ": state is field 3; we want 4 (ppid), 9 (flags), 14 (utime), 15 (stime), 22 (starttime).
        // One scan over the bytes: the fields between are skipped, not sliced and searched one by one (this
        // runs for every process, every sample).
        var rest = line[(close + 1)..];
        int parentPid = 0;
        uint flags = 0;
        ulong utime = 0, stime = 0, start = 0;
        var field = 2;
        var found = 0;
        var position = 0;
        while (field < 22)
        {
            while (position < rest.Length && rest[position] == (byte)' ')
            {
                position++;
            }

            if (position == rest.Length)
            {
                break;
            }

            var tokenStart = position;
            while (position < rest.Length && rest[position] != (byte)' ')
            {
                position++;
            }

            field++;
            if (field is not (3 or 4 or 9 or 14 or 15 or 22))
            {
                continue;
            }

            var token = rest[tokenStart..position];
            if (position == rest.Length)
            {
                token = token.TrimEnd((byte)'\n');
            }

            var ok = field switch
            {
                3 => token.Length > 0,
                4 => Utf8Parser.TryParse(token, out parentPid, out _),
                9 => Utf8Parser.TryParse(token, out flags, out _),
                14 => Utf8Parser.TryParse(token, out utime, out _),
                15 => Utf8Parser.TryParse(token, out stime, out _),
                _ => Utf8Parser.TryParse(token, out start, out _),
            };
            if (!ok)
            {
                return false;
            }

            if (field != 3)
            {
                found++;
            }
        }

        if (found != 5)
        {
            return false;
        }

        stat = new ProcessStat(pid, parentPid, flags, utime, stime, start, open + 1, close - open - 1);
        return true;
    }
}
