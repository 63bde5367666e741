using System.Runtime.InteropServices;

namespace OtelPower.Sensors.Gpu;

/// <summary><c>nvmlProcessUtilizationSample_t</c>: 32 bytes on x86-64 (pid@0, timeStamp@8, smUtil@16, memUtil@20, encUtil@24, decUtil@28).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct NvmlProcessUtilizationSample
{
    [FieldOffset(0)]
    public uint Pid;

    /// <summary>CPU timestamp of the sample in microseconds.</summary>
    [FieldOffset(8)]
    public ulong TimeStamp;

    /// <summary>SM (3D/compute) utilisation, percent.</summary>
    [FieldOffset(16)]
    public uint SmUtil;

    [FieldOffset(20)]
    public uint MemUtil;

    [FieldOffset(24)]
    public uint EncUtil;

    [FieldOffset(28)]
    public uint DecUtil;
}

/// <summary><c>nvmlUtilization_t</c>: percent of the last sample period the GPU and its memory were busy.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlUtilization
{
    public uint Gpu;
    public uint Memory;
}

/// <summary><c>nvmlMemory_t</c> (v1), bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlMemory
{
    public ulong Total;
    public ulong Free;
    public ulong Used;
}

/// <summary><c>nvmlDeviceAttributes_t</c>: the slice counts say how much of the physical GPU a MIG device holds.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlDeviceAttributes
{
    public uint MultiprocessorCount;
    public uint SharedCopyEngineCount;
    public uint SharedDecoderCount;
    public uint SharedEncoderCount;
    public uint SharedJpgCount;
    public uint SharedOfaCount;
    public uint GpuInstanceSliceCount;
    public uint ComputeInstanceSliceCount;
    public ulong MemorySizeMB;
}
