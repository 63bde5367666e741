using System.Buffers.Text;
using OtelPower.Attribution;

namespace OtelPower.Sensors.Procfs;

/// <summary>Parses <c>/proc/stat</c>: the aggregate <c>cpu</c> line and the count of <c>cpuN</c> lines.</summary>
internal static class CpuStat
{
    /// <summary>
    /// <c>cpu  user nice system idle iowait irq softirq steal guest guest_nice</c>. Total = user through
    /// steal: guest and guest_nice are already inside user and nice. Kernels before 2.6.11 have fewer columns;
    /// at least user nice system idle are required.
    /// </summary>
    public static bool TryParseCpuLine(ReadOnlySpan<byte> line, out CpuTimes times)
    {
        times = default;
        if (!line.StartsWith("cpu"u8))
        {
            return false;
        }

        var rest = line[3..];
        var label = rest.IndexOf((byte)' ');
        if (label < 0)
        {
            return false;
        }

        rest = rest[label..];
        Span<ulong> columns = stackalloc ulong[8];
        var count = 0;
        while (count < columns.Length)
        {
            rest = rest.TrimStart((byte)' ');
            if (rest.IsEmpty || rest[0] == (byte)'\n')
            {
                break;
            }

            if (!Utf8Parser.TryParse(rest, out ulong value, out var consumed))
            {
                return false;
            }

            columns[count++] = value;
            rest = rest[consumed..];
        }

        if (count < 4)
        {
            return false;
        }

        ulong total = 0;
        for (var i = 0; i < count; i++)
        {
            total += columns[i];
        }

        times = new CpuTimes(total, columns[3], count > 4 ? columns[4] : 0);
        return true;
    }

    /// <summary>Parses the whole file: the aggregate times and the number of per-CPU lines.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out CpuTimes times, out int cpuCount)
    {
        times = default;
        cpuCount = 0;
        var foundTotal = false;
        while (!text.IsEmpty)
        {
            var end = text.IndexOf((byte)'\n');
            var line = end < 0 ? text : text[..end];
            text = end < 0 ? [] : text[(end + 1)..];
            if (!line.StartsWith("cpu"u8))
            {
                if (foundTotal)
                {
                    break; // the cpu lines come first; the long intr line need not be scanned
                }

                continue;
            }

            if (line.StartsWith("cpu "u8))
            {
                foundTotal = TryParseCpuLine(line, out times);
                if (!foundTotal)
                {
                    return false;
                }
            }
            else if (line.Length > 3 && char.IsAsciiDigit((char)line[3]))
            {
                cpuCount++;
            }
        }

        return foundTotal;
    }
}
