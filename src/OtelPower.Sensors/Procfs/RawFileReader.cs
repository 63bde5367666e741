using System.Runtime.InteropServices;

namespace OtelPower.Sensors.Procfs;

/// <summary>
/// open/read/close through libc, for the per-process hot path: one sample reads thousands of
/// /proc/PID/stat files, and File.OpenHandle adds an fstat and an advisory flock to every open.
/// Paths are passed as cached NUL-terminated UTF-8, so a read allocates nothing.
/// </summary>
internal static unsafe partial class RawFileReader
{
    private const int ReadOnly = 0;          // O_RDONLY
    private const int CloseOnExec = 0x80000;  // O_CLOEXEC on Linux
    private const int Interrupted = 4;        // EINTR

    /// <summary>Reads up to <paramref name="buffer"/>'s length; false when the file cannot be opened or read (the process exited).</summary>
    public static bool TryRead(ReadOnlySpan<byte> nulTerminatedPath, Span<byte> buffer, out int length)
    {
        length = 0;
        int descriptor;
        fixed (byte* path = nulTerminatedPath)
        {
            descriptor = Open(path, ReadOnly | CloseOnExec);
        }

        if (descriptor < 0)
        {
            return false;
        }

        try
        {
            fixed (byte* destination = buffer)
            {
                while (length < buffer.Length)
                {
                    var requested = buffer.Length - length;
                    var read = Read(descriptor, destination + length, requested);
                    if (read == 0)
                    {
                        return true;
                    }

                    if (read < 0)
                    {
                        if (Marshal.GetLastPInvokeError() == Interrupted)
                        {
                            continue;
                        }

                        return false; // ESRCH: the process exited while we read
                    }

                    length += (int)read;

                    // A short read is the end: procfs and sysfs files answer a read with the whole file when it
                    // fits, so asking again only to be told 0 costs a syscall per process per sample (a quarter
                    // of the hot path's syscalls). A read that fills what was asked is never taken as the end.
                    if (read < requested)
                    {
                        return true;
                    }
                }
            }

            return true;
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int Open(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int descriptor, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int descriptor);
}
