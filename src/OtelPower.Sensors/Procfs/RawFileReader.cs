using System.Runtime.InteropServices;

namespace OtelPower.Sensors.Procfs;

/// <summary>
/// open/getdents64/openat/read/close through libc, for the files read every sample: one sample lists the
/// procfs root and reads thousands of PID/stat files, and File.OpenHandle adds an fstat and an advisory flock
/// to every open (File.ReadAllText a FileStream, a StreamReader and a string besides). Paths are passed as
/// NUL-terminated UTF-8 spans, so a read allocates nothing.
/// </summary>
internal static unsafe partial class RawFileReader
{
    private const int ReadOnly = 0;          // O_RDONLY
    private const int CloseOnExec = 0x80000;  // O_CLOEXEC on Linux
    private const int Interrupted = 4;        // EINTR

    /// <summary>
    /// Reads up to <paramref name="buffer"/>'s length of a path relative to an open directory (<c>openat</c>);
    /// false when the file cannot be opened or read (the process exited). The kernel walks only
    /// <c>PID/stat</c>, not the procfs root's components again for every process, and a sample opened on one
    /// directory reads one tree even if a link above it is swapped meanwhile.
    /// </summary>
    public static bool TryReadAt(int directory, ReadOnlySpan<byte> nulTerminatedRelativePath, Span<byte> buffer, out int length)
    {
        int descriptor;
        fixed (byte* path = nulTerminatedRelativePath)
        {
            descriptor = OpenAt(directory, path, ReadOnly | CloseOnExec);
        }

        return TryReadAndClose(descriptor, buffer, out length, out _);
    }

    /// <summary>
    /// Reads up to <paramref name="buffer"/>'s length of a file (<c>open</c>, <c>read</c>, <c>close</c>); false
    /// with the errno in <paramref name="error"/> when it cannot be opened or read.
    /// </summary>
    public static bool TryReadFile(ReadOnlySpan<byte> nulTerminatedPath, Span<byte> buffer, out int length, out int error)
    {
        int descriptor;
        fixed (byte* path = nulTerminatedPath)
        {
            descriptor = Open(path, ReadOnly | CloseOnExec);
        }

        return TryReadAndClose(descriptor, buffer, out length, out error);
    }

    /// <summary>Opens a directory to list and to open files in; -1 with the errno in <paramref name="error"/> when it cannot.</summary>
    public static int OpenDirectory(ReadOnlySpan<byte> nulTerminatedPath, out int error)
    {
        int descriptor;
        fixed (byte* path = nulTerminatedPath)
        {
            // No O_DIRECTORY: its value differs between x86-64 and arm64; getdents64 fails on anything else.
            descriptor = Open(path, ReadOnly | CloseOnExec);
        }

        error = descriptor < 0 ? Marshal.GetLastPInvokeError() : 0;
        return descriptor;
    }

    /// <summary>
    /// The next batch of <c>linux_dirent64</c> records of an open directory into <paramref name="buffer"/>:
    /// the bytes filled, 0 at the end, -1 with the errno in <paramref name="error"/>.
    /// </summary>
    public static int ReadDirectoryEntries(int directory, Span<byte> buffer, out int error)
    {
        while (true)
        {
            nint filled;
            fixed (byte* destination = buffer)
            {
                filled = GetDirectoryEntries(directory, destination, buffer.Length);
            }

            error = filled < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (error != Interrupted)
            {
                return (int)filled;
            }
        }
    }

    public static void CloseDescriptor(int descriptor) => _ = Close(descriptor);

    private static bool TryReadAndClose(int descriptor, Span<byte> buffer, out int length, out int error)
    {
        length = 0;
        error = 0;
        if (descriptor < 0)
        {
            error = Marshal.GetLastPInvokeError();
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
                        error = Marshal.GetLastPInvokeError();
                        if (error == Interrupted)
                        {
                            error = 0;
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

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static partial int OpenAt(int directory, byte* path, int flags);

    // glibc 2.30 and later (Debian 11 and later, the runtime-deps images).
    [LibraryImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    private static partial nint GetDirectoryEntries(int directory, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int descriptor, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int descriptor);
}
