using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;

namespace OtelPower.Sensors.Gpu;

/// <summary>
/// <c>libnvidia-ml.so.1</c> loaded at run time: <see cref="NativeLibrary.TryLoad(string, out nint)"/> and
/// function pointers from <see cref="NativeLibrary.TryGetExport"/>, so a host without the NVIDIA driver stays
/// healthy (a <c>[LibraryImport]</c> would throw on its first call instead). A missing optional symbol (an
/// older driver) answers <see cref="NvmlReturn.FunctionNotFound"/>, which turns that feature off, not the reader.
/// Not usable after <see cref="Dispose"/>; the reader serialises every call.
/// </summary>
internal sealed unsafe class NvmlLibrary : IDisposable
{
    /// <summary>The soname, never the unversioned <c>.so</c> (often missing on driver-only hosts); <c>LD_LIBRARY_PATH</c> applies.</summary>
    public const string DefaultPath = "libnvidia-ml.so.1";

    /// <summary>NVML_DEVICE_UUID_V2_BUFFER_SIZE and NVML_DEVICE_NAME_V2_BUFFER_SIZE.</summary>
    private const int DeviceStringBytes = 96;

    /// <summary>NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE.</summary>
    private const int DriverVersionBytes = 80;

    private static readonly string[] RequiredSymbols =
    [
        "nvmlInit_v2", "nvmlShutdown", "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetUUID", "nvmlDeviceGetName",
    ];

    private readonly delegate* unmanaged<NvmlReturn> _init;
    private readonly delegate* unmanaged<NvmlReturn> _shutdown;
    private readonly delegate* unmanaged<uint*, NvmlReturn> _getCount;
    private readonly delegate* unmanaged<uint, nint*, NvmlReturn> _getHandleByIndex;
    private readonly delegate* unmanaged<nint, byte*, uint, NvmlReturn> _getUuid;
    private readonly delegate* unmanaged<nint, byte*, uint, NvmlReturn> _getName;
    private readonly delegate* unmanaged<byte*, uint, NvmlReturn> _getDriverVersion;
    private readonly delegate* unmanaged<nint, ulong*, NvmlReturn> _getTotalEnergyConsumption;
    private readonly delegate* unmanaged<nint, uint*, NvmlReturn> _getPowerUsage;
    private readonly delegate* unmanaged<nint, NvmlProcessUtilizationSample*, uint*, ulong, NvmlReturn> _getProcessUtilization;
    private readonly delegate* unmanaged<nint, uint*, byte*, NvmlReturn> _getComputeRunningProcesses;
    private readonly delegate* unmanaged<nint, uint*, byte*, NvmlReturn> _getGraphicsRunningProcesses;
    private readonly delegate* unmanaged<nint, NvmlUtilization*, NvmlReturn> _getUtilizationRates;
    private readonly delegate* unmanaged<nint, NvmlMemory*, NvmlReturn> _getMemoryInfo;
    private readonly delegate* unmanaged<nint, uint*, uint*, NvmlReturn> _getMigMode;
    private readonly delegate* unmanaged<nint, uint*, NvmlReturn> _getMaxMigDeviceCount;
    private readonly delegate* unmanaged<nint, uint, nint*, NvmlReturn> _getMigDeviceHandleByIndex;
    private readonly delegate* unmanaged<nint, NvmlDeviceAttributes*, NvmlReturn> _getAttributes;
    private nint _handle;

    private NvmlLibrary(nint handle, string path)
    {
        _handle = handle;
        Path = path;
        var missing = ImmutableArray.CreateBuilder<string>();
        nint Optional(string name)
        {
            if (NativeLibrary.TryGetExport(handle, name, out var address))
            {
                return address;
            }

            missing.Add(name);
            return 0;
        }

        _init = (delegate* unmanaged<NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlInit_v2");
        _shutdown = (delegate* unmanaged<NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlShutdown");
        _getCount = (delegate* unmanaged<uint*, NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlDeviceGetCount_v2");
        _getHandleByIndex = (delegate* unmanaged<uint, nint*, NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlDeviceGetHandleByIndex_v2");
        _getUuid = (delegate* unmanaged<nint, byte*, uint, NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlDeviceGetUUID");
        _getName = (delegate* unmanaged<nint, byte*, uint, NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlDeviceGetName");
        _getDriverVersion = (delegate* unmanaged<byte*, uint, NvmlReturn>)Optional("nvmlSystemGetDriverVersion");
        _getTotalEnergyConsumption = (delegate* unmanaged<nint, ulong*, NvmlReturn>)Optional("nvmlDeviceGetTotalEnergyConsumption");
        _getPowerUsage = (delegate* unmanaged<nint, uint*, NvmlReturn>)Optional("nvmlDeviceGetPowerUsage");
        _getProcessUtilization = (delegate* unmanaged<nint, NvmlProcessUtilizationSample*, uint*, ulong, NvmlReturn>)Optional("nvmlDeviceGetProcessUtilization");
        _getComputeRunningProcesses = (delegate* unmanaged<nint, uint*, byte*, NvmlReturn>)Optional("nvmlDeviceGetComputeRunningProcesses_v3");
        _getGraphicsRunningProcesses = (delegate* unmanaged<nint, uint*, byte*, NvmlReturn>)Optional("nvmlDeviceGetGraphicsRunningProcesses_v3");
        _getUtilizationRates = (delegate* unmanaged<nint, NvmlUtilization*, NvmlReturn>)Optional("nvmlDeviceGetUtilizationRates");
        _getMemoryInfo = (delegate* unmanaged<nint, NvmlMemory*, NvmlReturn>)Optional("nvmlDeviceGetMemoryInfo");
        _getMigMode = (delegate* unmanaged<nint, uint*, uint*, NvmlReturn>)Optional("nvmlDeviceGetMigMode");
        _getMaxMigDeviceCount = (delegate* unmanaged<nint, uint*, NvmlReturn>)Optional("nvmlDeviceGetMaxMigDeviceCount");
        _getMigDeviceHandleByIndex = (delegate* unmanaged<nint, uint, nint*, NvmlReturn>)Optional("nvmlDeviceGetMigDeviceHandleByIndex");
        _getAttributes = (delegate* unmanaged<nint, NvmlDeviceAttributes*, NvmlReturn>)Optional("nvmlDeviceGetAttributes_v2");
        MissingOptionalSymbols = missing.ToImmutable();
    }

    /// <summary>The path or soname the library was loaded from.</summary>
    public string Path { get; }

    /// <summary>Optional symbols this driver lacks; each turns one feature off.</summary>
    public ImmutableArray<string> MissingOptionalSymbols { get; }

    public bool HasTotalEnergyConsumption => _getTotalEnergyConsumption != null;

    public bool HasProcessUtilization => _getProcessUtilization != null;

    /// <summary>Loads the library and its required symbols; never throws.</summary>
    public static bool TryLoad(string path, [NotNullWhen(true)] out NvmlLibrary? library, [NotNullWhen(false)] out string? problem)
    {
        library = null;
        if (string.IsNullOrEmpty(path))
        {
            problem = "no NVML library path";
            return false;
        }

        if (!NativeLibrary.TryLoad(path, out var handle))
        {
            problem = $"{path} not found or not loadable";
            return false;
        }

        foreach (var symbol in RequiredSymbols)
        {
            if (!NativeLibrary.TryGetExport(handle, symbol, out _))
            {
                NativeLibrary.Free(handle);
                problem = $"{path} lacks {symbol}";
                return false;
            }
        }

        library = new NvmlLibrary(handle, path);
        problem = null;
        return true;
    }

    public NvmlReturn Init() => _init();

    public NvmlReturn Shutdown() => _shutdown();

    public NvmlReturn GetDeviceCount(out uint count)
    {
        uint value = 0;
        var code = _getCount(&value);
        count = value;
        return code;
    }

    public NvmlReturn GetHandleByIndex(uint index, out nint device)
    {
        nint value = 0;
        var code = _getHandleByIndex(index, &value);
        device = value;
        return code;
    }

    public NvmlReturn GetUuid(nint device, out string uuid)
    {
        var buffer = stackalloc byte[DeviceStringBytes];
        var code = _getUuid(device, buffer, DeviceStringBytes);
        uuid = code == NvmlReturn.Success ? ReadString(buffer, DeviceStringBytes) : string.Empty;
        return code;
    }

    public NvmlReturn GetName(nint device, out string name)
    {
        var buffer = stackalloc byte[DeviceStringBytes];
        var code = _getName(device, buffer, DeviceStringBytes);
        name = code == NvmlReturn.Success ? ReadString(buffer, DeviceStringBytes) : string.Empty;
        return code;
    }

    public NvmlReturn GetDriverVersion(out string version)
    {
        version = string.Empty;
        if (_getDriverVersion == null)
        {
            return NvmlReturn.FunctionNotFound;
        }

        var buffer = stackalloc byte[DriverVersionBytes];
        var code = _getDriverVersion(buffer, DriverVersionBytes);
        if (code == NvmlReturn.Success)
        {
            version = ReadString(buffer, DriverVersionBytes);
        }

        return code;
    }

    /// <summary>Millijoules since the driver loaded (Volta and newer).</summary>
    public NvmlReturn GetTotalEnergyConsumption(nint device, out ulong millijoules)
    {
        ulong value = 0;
        var code = _getTotalEnergyConsumption == null ? NvmlReturn.FunctionNotFound : _getTotalEnergyConsumption(device, &value);
        millijoules = value;
        return code;
    }

    /// <summary>Milliwatts: a 1 s average on Ampere and newer (not GA100), instantaneous before.</summary>
    public NvmlReturn GetPowerUsage(nint device, out uint milliwatts)
    {
        uint value = 0;
        var code = _getPowerUsage == null ? NvmlReturn.FunctionNotFound : _getPowerUsage(device, &value);
        milliwatts = value;
        return code;
    }

    /// <summary>
    /// Samples newer than <paramref name="lastSeenTimeStamp"/> (µs). An empty <paramref name="samples"/> passes
    /// NULL, which asks for the count (<see cref="NvmlReturn.InsufficientSize"/>); <see cref="NvmlReturn.NotFound"/>
    /// means no new samples. <paramref name="count"/> goes in as the buffer's length and comes back as the samples'.
    /// </summary>
    public NvmlReturn GetProcessUtilization(nint device, Span<NvmlProcessUtilizationSample> samples, out uint count, ulong lastSeenTimeStamp)
    {
        if (_getProcessUtilization == null)
        {
            count = 0;
            return NvmlReturn.FunctionNotFound;
        }

        var value = (uint)samples.Length;
        NvmlReturn code;
        fixed (NvmlProcessUtilizationSample* buffer = samples)
        {
            code = _getProcessUtilization(device, samples.IsEmpty ? null : buffer, &value, lastSeenTimeStamp);
        }

        count = value;
        return code;
    }

    /// <summary>
    /// The <c>_v3</c> running-process call into a raw buffer: <paramref name="count"/> goes in as the records
    /// the buffer holds and comes back as the processes'. The record size is the caller's to find out
    /// (<see cref="RunningProcessList"/>).
    /// </summary>
    public NvmlReturn GetRunningProcesses(nint device, bool graphics, Span<byte> buffer, ref uint count)
    {
        var function = graphics ? _getGraphicsRunningProcesses : _getComputeRunningProcesses;
        if (function == null)
        {
            return NvmlReturn.FunctionNotFound;
        }

        var value = count;
        NvmlReturn code;
        fixed (byte* records = buffer)
        {
            code = function(device, &value, buffer.IsEmpty ? null : records);
        }

        count = value;
        return code;
    }

    public bool HasRunningProcesses(bool graphics) => graphics ? _getGraphicsRunningProcesses != null : _getComputeRunningProcesses != null;

    public NvmlReturn GetUtilizationRates(nint device, out NvmlUtilization utilization)
    {
        NvmlUtilization value = default;
        var code = _getUtilizationRates == null ? NvmlReturn.FunctionNotFound : _getUtilizationRates(device, &value);
        utilization = value;
        return code;
    }

    public NvmlReturn GetMemoryInfo(nint device, out NvmlMemory memory)
    {
        NvmlMemory value = default;
        var code = _getMemoryInfo == null ? NvmlReturn.FunctionNotFound : _getMemoryInfo(device, &value);
        memory = value;
        return code;
    }

    public NvmlReturn GetMigMode(nint device, out uint current, out uint pending)
    {
        uint currentMode = 0, pendingMode = 0;
        var code = _getMigMode == null ? NvmlReturn.FunctionNotFound : _getMigMode(device, &currentMode, &pendingMode);
        current = currentMode;
        pending = pendingMode;
        return code;
    }

    public NvmlReturn GetMaxMigDeviceCount(nint device, out uint count)
    {
        uint value = 0;
        var code = _getMaxMigDeviceCount == null ? NvmlReturn.FunctionNotFound : _getMaxMigDeviceCount(device, &value);
        count = value;
        return code;
    }

    public NvmlReturn GetMigDeviceHandleByIndex(nint device, uint index, out nint migDevice)
    {
        nint value = 0;
        var code = _getMigDeviceHandleByIndex == null ? NvmlReturn.FunctionNotFound : _getMigDeviceHandleByIndex(device, index, &value);
        migDevice = value;
        return code;
    }

    public NvmlReturn GetAttributes(nint device, out NvmlDeviceAttributes attributes)
    {
        NvmlDeviceAttributes value = default;
        var code = _getAttributes == null ? NvmlReturn.FunctionNotFound : _getAttributes(device, &value);
        attributes = value;
        return code;
    }

    /// <summary>Unloads the library (after <see cref="Shutdown"/>); the function pointers are dead afterwards.</summary>
    public void Dispose()
    {
        if (_handle != 0)
        {
            NativeLibrary.Free(_handle);
            _handle = 0;
        }
    }

    private static string ReadString(byte* buffer, int size)
    {
        var bytes = new ReadOnlySpan<byte>(buffer, size);
        var end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }
}
