using System.Globalization;

namespace OtelPower.Sensors.Gpu;

/// <summary>The <c>nvmlReturn_t</c> codes the reader tells apart (nvml.h; docs/domain-notes.md section 7).</summary>
internal enum NvmlReturn
{
    Success = 0,
    Uninitialized = 1,
    InvalidArgument = 2,
    NotSupported = 3,
    NoPermission = 4,
    NotFound = 6,
    InsufficientSize = 7,
    DriverNotLoaded = 9,
    LibraryNotFound = 12,
    FunctionNotFound = 13,
    GpuIsLost = 15,
    GpuNotFound = 28,
    Unknown = 999,
}

internal static class NvmlReturnNames
{
    /// <summary>The code as nvml.h spells it, with its number: <c>GPU_IS_LOST (15)</c>.</summary>
    public static string Describe(this NvmlReturn code) => code switch
    {
        NvmlReturn.Success => "SUCCESS (0)",
        NvmlReturn.Uninitialized => "UNINITIALIZED (1)",
        NvmlReturn.InvalidArgument => "INVALID_ARGUMENT (2)",
        NvmlReturn.NotSupported => "NOT_SUPPORTED (3)",
        NvmlReturn.NoPermission => "NO_PERMISSION (4)",
        NvmlReturn.NotFound => "NOT_FOUND (6)",
        NvmlReturn.InsufficientSize => "INSUFFICIENT_SIZE (7)",
        NvmlReturn.DriverNotLoaded => "DRIVER_NOT_LOADED (9)",
        NvmlReturn.LibraryNotFound => "LIBRARY_NOT_FOUND (12)",
        NvmlReturn.FunctionNotFound => "FUNCTION_NOT_FOUND (13)",
        NvmlReturn.GpuIsLost => "GPU_IS_LOST (15)",
        NvmlReturn.GpuNotFound => "GPU_NOT_FOUND (28)",
        NvmlReturn.Unknown => "UNKNOWN (999)",
        _ => "error " + ((int)code).ToString(CultureInfo.InvariantCulture),
    };
}
