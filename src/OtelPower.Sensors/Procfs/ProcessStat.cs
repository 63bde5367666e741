using System.Buffers.Text;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace OtelPower.Sensors.Procfs;

/// <summary>
/// The fields of one <c>/proc/PID/stat</c> line that attribution needs. Parsed from bytes, without
/// allocating: the comm is kept as a range and decoded only for a process seen for the first time.
/// </summary>
internal readonly record struct ProcessStat(int Pid, int ParentPid, uint Flags, ulong UserTicks, ulong SystemTicks, ulong StartTicks, int CommStart, int CommLength)
{
    /// <summary>Bit n set for each field n that is parsed: ppid, flags, utime, stime and starttime.</summary>
    private const uint WantedFields = (1u << 4) | (1u << 9) | (1u << 14) | (1u << 15) | (1u << 22);

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
        // Fields are numbered as in proc(5), so field counts the ones passed, wanted or not.
        // The spaces are found 16 bytes at a time (a compare and a bit mask) and only the wanted fields are
        // sliced: this runs for every process, every sample, and a byte-by-byte scan of the 20 fields before
        // starttime was the costliest step of a sample after the kernel's. Runs of spaces separate like one.
        var rest = line[(close + 1)..];
        int parentPid = 0;
        uint flags = 0;
        ulong utime = 0, stime = 0, start = 0;
        var field = 2;
        var found = 0;
        var tokenStart = 0;
        for (var chunk = 0; chunk < rest.Length && field < 22; chunk += Vector128<byte>.Count)
        {
            var spaces = SpaceMask(rest, chunk);
            while (spaces != 0)
            {
                var end = chunk + BitOperations.TrailingZeroCount(spaces);
                spaces &= spaces - 1;
                if (end > tokenStart && (WantedFields & (1u << ++field)) != 0)
                {
                    if (!TryTakeField(field, rest[tokenStart..end], ref parentPid, ref flags, ref utime, ref stime, ref start))
                    {
                        return false;
                    }

                    found++;
                    if (field == 22)
                    {
                        break;
                    }
                }

                tokenStart = end + 1;
            }
        }

        // The last field read may end the line, with a newline and no space after it.
        if (field < 22 && tokenStart < rest.Length && (WantedFields & (1u << ++field)) != 0)
        {
            if (!TryTakeField(field, rest[tokenStart..].TrimEnd((byte)'\n'), ref parentPid, ref flags, ref utime, ref stime, ref start))
            {
                return false;
            }

            found++;
        }

        if (found != 5)
        {
            return false;
        }

        stat = new ProcessStat(pid, parentPid, flags, utime, stime, start, open + 1, close - open - 1);
        return true;
    }

    // Bit i set where line[chunk + i] is a space, for up to 16 bytes from chunk.
    private static uint SpaceMask(ReadOnlySpan<byte> line, int chunk)
    {
        if (chunk + Vector128<byte>.Count <= line.Length)
        {
            var bytes = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(line), (nuint)chunk);
            return Vector128.Equals(bytes, Vector128.Create((byte)' ')).ExtractMostSignificantBits();
        }

        uint mask = 0;
        for (var i = chunk; i < line.Length; i++)
        {
            mask |= line[i] == (byte)' ' ? 1u << (i - chunk) : 0;
        }

        return mask;
    }

    // One of the wanted fields (see WantedFields) into its variable.
    private static bool TryTakeField(int field, ReadOnlySpan<byte> token, ref int parentPid, ref uint flags, ref ulong utime, ref ulong stime, ref ulong start) =>
        field switch
        {
            4 => Utf8Parser.TryParse(token, out parentPid, out _),
            9 => Utf8Parser.TryParse(token, out flags, out _),
            14 => Utf8Parser.TryParse(token, out utime, out _),
            15 => Utf8Parser.TryParse(token, out stime, out _),
            _ => Utf8Parser.TryParse(token, out start, out _),
        };
}
