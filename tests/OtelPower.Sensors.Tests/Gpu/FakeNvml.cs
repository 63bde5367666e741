using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace OtelPower.Sensors.Tests.Gpu;

/// <summary>
/// The stand-in libnvidia-ml.so.1 of tests/fakes/nvml, built with gcc once per test run and copied into a
/// folder of its own per test: a copy at its own path is a separate dlopen, so every test has its own fake
/// state, and its script (<c>fake_nvml.script</c> beside the copy) is its alone.
/// </summary>
internal sealed class FakeNvml : IDisposable
{
    private static readonly Lazy<string> CurrentDriver = new(() => Build(oldDriver: false));
    private static readonly Lazy<string> OldDriver = new(() => Build(oldDriver: true));

    private readonly nint _handle;
    private readonly InitCountFunction _initCount;
    private readonly LastSeenFunction _lastSeen;

    public FakeNvml(string script, bool oldDriver = false)
    {
        var built = (oldDriver ? OldDriver : CurrentDriver).Value;
        Folder = Path.Combine(Path.GetTempPath(), "otelpower-nvml-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        File.Copy(built, LibraryPath);
        Script(script);

        // Held here too, so the fake's state outlives the reader's NativeLibrary.Free.
        _handle = NativeLibrary.Load(LibraryPath);
        _initCount = Marshal.GetDelegateForFunctionPointer<InitCountFunction>(NativeLibrary.GetExport(_handle, "fake_nvml_init_count"));
        _lastSeen = Marshal.GetDelegateForFunctionPointer<LastSeenFunction>(NativeLibrary.GetExport(_handle, "fake_nvml_last_seen_timestamp"));
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int InitCountFunction();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate ulong LastSeenFunction(uint gpu);

    public string Folder { get; }

    public string LibraryPath => Path.Combine(Folder, "libnvidia-ml.so.1");

    public string ScriptPath => Path.Combine(Folder, "fake_nvml.script");

    /// <summary>nvmlInit_v2 calls not yet matched by nvmlShutdown.</summary>
    public int InitCount => _initCount();

    /// <summary>The lastSeenTimeStamp the reader passed in its latest nvmlDeviceGetProcessUtilization on <paramref name="gpu"/>.</summary>
    public ulong LastSeenTimeStamp(uint gpu) => _lastSeen(gpu);

    /// <summary>Replaces the script atomically (a new inode), so the fake sees the change even within one mtime tick.</summary>
    public void Script(string text)
    {
        var temporary = ScriptPath + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, ScriptPath, overwrite: true);
    }

    public void Dispose()
    {
        NativeLibrary.Free(_handle);
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string Build(bool oldDriver)
    {
        var source = Deployment.Tests.RepositoryRoot.Combine("tests", "fakes", "nvml", "fake_nvml.c");
        var folder = Path.Combine(AppContext.BaseDirectory, "fake-nvml", oldDriver ? "old-driver" : "current");
        Directory.CreateDirectory(folder);
        var output = Path.Combine(folder, "libnvidia-ml.so.1");
        var temporary = $"{output}.{Environment.ProcessId}.tmp";
        var start = new ProcessStartInfo("gcc")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["-shared", "-fPIC", "-O1", "-Wall", "-o", temporary, source])
        {
            start.ArgumentList.Add(argument);
        }

        if (oldDriver)
        {
            start.ArgumentList.Add("-DFAKE_NVML_OLD_DRIVER");
        }

        Process gcc;
        try
        {
            gcc = Process.Start(start) ?? throw new InvalidOperationException("gcc did not start.");
        }
        catch (Win32Exception exception)
        {
            throw new InvalidOperationException($"The NVML tests build {source} with gcc, which is not installed: {exception.Message}", exception);
        }

        using (gcc)
        {
            var errors = gcc.StandardError.ReadToEndAsync();
            var messages = gcc.StandardOutput.ReadToEnd();
            gcc.WaitForExit();
            if (gcc.ExitCode != 0)
            {
                throw new InvalidOperationException($"gcc could not build {source} (exit {gcc.ExitCode}):\n{errors.Result}{messages}");
            }
        }

        File.Move(temporary, output, overwrite: true);
        return output;
    }
}
