using System.Buffers.Binary;

namespace OtelPower.Sensors.Gpu;

/// <summary>
/// Reads <c>nvmlDevice{Compute,Graphics}RunningProcesses_v3</c> without trusting the record size. nvml.h says
/// <c>nvmlProcessInfo_t</c> is 24 bytes (pid@0, usedGpuMemory@8, gpuInstanceId@16, computeInstanceId@20), but
/// R535 (CUDA 12.2) drivers write 32-byte records (usedGpuCcProtectedMemory@24) into the same symbol (nvitop
/// PR #79 and #226, go-nvml #75). Read at 24 bytes, every second PID would be garbage. So the buffer is sized
/// for 32-byte records, filled with a sentinel, and the stride measured from how far the driver wrote.
/// </summary>
internal sealed class RunningProcessList
{
    internal const int DocumentedStride = 24;
    internal const int R535Stride = 32;
    internal const byte Sentinel = 0xA5;
    private const int Attempts = 4;

    private byte[] _buffer = new byte[64 * R535Stride];

    /// <summary>Adds the PIDs the device lists as running (compute or graphics) to <paramref name="pids"/>.</summary>
    public NvmlReturn Read(NvmlLibrary nvml, nint device, bool graphics, ISet<int> pids)
    {
        if (!nvml.HasRunningProcesses(graphics))
        {
            return NvmlReturn.FunctionNotFound;
        }

        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var capacity = (uint)(_buffer.Length / R535Stride);
            var count = capacity;
            _buffer.AsSpan().Fill(Sentinel);
            var code = nvml.GetRunningProcesses(device, graphics, _buffer, ref count);
            if (code == NvmlReturn.Success)
            {
                var records = (int)Math.Min(count, capacity);
                var stride = DetectStride(_buffer, records);
                for (var i = 0; i < records; i++)
                {
                    var pid = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(i * stride, sizeof(uint)));
                    if (pid is > 0 and <= int.MaxValue)
                    {
                        pids.Add((int)pid);
                    }
                }

                return NvmlReturn.Success;
            }

            if (code != NvmlReturn.InsufficientSize)
            {
                return code;
            }

            // Processes may start between the two calls: leave room.
            _buffer = new byte[(int)Math.Max(count + 16, capacity * 2) * R535Stride];
        }

        return NvmlReturn.InsufficientSize;
    }

    /// <summary>
    /// 24 or 32: a 24-byte writer leaves bytes [24n, 32n) as the sentinel; a 32-byte writer fills them (at
    /// least the last record's usedGpuCcProtectedMemory, a byte count that is never the sentinel pattern).
    /// </summary>
    internal static int DetectStride(ReadOnlySpan<byte> buffer, int count)
    {
        if (count <= 0 || buffer.Length < count * R535Stride)
        {
            return DocumentedStride;
        }

        return buffer.Slice(count * DocumentedStride, count * (R535Stride - DocumentedStride)).ContainsAnyExcept(Sentinel)
            ? R535Stride
            : DocumentedStride;
    }
}
