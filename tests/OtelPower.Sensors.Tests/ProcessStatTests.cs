using System.Text;
using OtelPower.Sensors.Procfs;

namespace OtelPower.Sensors.Tests;

public sealed class ProcessStatTests
{
    private const string Tail = "S 1 100 100 0 -1 4194560 10 0 0 0 300 100 7 9 20 0 1 0 4242 1048576 100 18446744073709551615";

    [Theory]
    [InlineData("100 (bash) " + Tail, "bash")]
    [InlineData("100 (my app (v2)) " + Tail, "my app (v2)")]
    [InlineData("100 () R 1 2 3 () " + Tail, ") R 1 2 3 (")]
    [InlineData("100 (two\nlines) " + Tail, "two\nlines")]
    [InlineData("100 ( ) " + Tail, " ")]
    [InlineData("100 (a)b)c) " + Tail, "a)b)c")]
    [InlineData("100 () " + Tail, "")]
    [InlineData("100 (ünïcødé) " + Tail, "ünïcødé")]
    public void Comm_with_spaces_parentheses_and_newlines_ends_at_the_last_paren(string line, string comm)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        Assert.True(ProcessStat.TryParse(bytes, out var stat));
        Assert.Equal(comm, stat.DecodeComm(bytes));
        Assert.Equal(100, stat.Pid);
        Assert.Equal(1, stat.ParentPid);
        Assert.Equal(300UL, stat.UserTicks);
        Assert.Equal(100UL, stat.SystemTicks);
        Assert.Equal(400UL, stat.CpuTicks); // cutime (7) and cstime (9) are not added
        Assert.Equal(4242UL, stat.StartTicks);
        Assert.False(stat.IsKernelThread);
    }

    [Theory]
    [InlineData("100 (x) S 1 100 100 0 -1 0 10 0 0 0 300 100 7 9 20 0 1 0 4242\n")] // starttime is the last field
    [InlineData("100 (x) S 1 100 100 0 -1 0 10 0 0 0 300 100 7 9 20 0 1 0 4242")] // and without a newline
    [InlineData("100 (x)  S  1 100 100 0 -1 0   10 0 0 0 300 100 7 9 20 0 1 0 4242 1048576\n")] // runs of spaces
    public void Fields_are_found_wherever_the_line_ends_and_however_they_are_spaced(string line)
    {
        Assert.True(ProcessStat.TryParse(Encoding.UTF8.GetBytes(line), out var stat));
        Assert.Equal(1, stat.ParentPid);
        Assert.Equal(300UL, stat.UserTicks);
        Assert.Equal(100UL, stat.SystemTicks);
        Assert.Equal(4242UL, stat.StartTicks);
    }

    [Fact]
    public void Fields_are_read_at_every_alignment_against_a_plain_split()
    {
        // The parser looks for spaces 16 bytes at a time: shift every field across those boundaries (comm of 0 to
        // 40 bytes, numbers of 1 to 20 digits, with and without the newline) and compare with string.Split.
        var random = new Random(1234);
        for (var commLength = 0; commLength <= 40; commLength++)
        {
            for (var round = 0; round < 20; round++)
            {
                var fields = Enumerable.Range(0, 30).Select(_ => Number(random)).ToArray();
                var tail = "S " + string.Join(' ', fields);
                var line = $"{1 + random.Next(4_000_000)} ({new string('c', commLength)}) {tail}" + (round % 2 == 0 ? "\n" : "");
                var split = tail.Split(' ');

                Assert.True(ProcessStat.TryParse(Encoding.UTF8.GetBytes(line), out var stat), line);
                Assert.Equal(int.Parse(split[1], System.Globalization.CultureInfo.InvariantCulture), stat.ParentPid);
                Assert.Equal(uint.Parse(split[6], System.Globalization.CultureInfo.InvariantCulture), stat.Flags);
                Assert.Equal(ulong.Parse(split[11], System.Globalization.CultureInfo.InvariantCulture), stat.UserTicks);
                Assert.Equal(ulong.Parse(split[12], System.Globalization.CultureInfo.InvariantCulture), stat.SystemTicks);
                Assert.Equal(ulong.Parse(split[19], System.Globalization.CultureInfo.InvariantCulture), stat.StartTicks);
            }
        }

        // Digits enough to cross a 16-byte boundary, small enough for every field's type (ppid and flags included).
        static string Number(Random random) => random.Next(3) switch
        {
            0 => random.Next(10).ToString(System.Globalization.CultureInfo.InvariantCulture),
            1 => random.Next(1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => random.Next(int.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    [Fact]
    public void A_line_whose_starttime_ends_on_a_16_byte_boundary_is_read_whole()
    {
        // "1 (x) " then fields sized so that starttime's last digit is byte 47 and nothing follows.
        var prefix = "1 (x) S 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 ";
        var startDigits = new string('9', 48 - prefix.Length);
        var line = prefix + startDigits;
        Assert.Equal(48, line.Length);
        Assert.True(ProcessStat.TryParse(Encoding.UTF8.GetBytes(line), out var stat));
        Assert.Equal(ulong.Parse(startDigits, System.Globalization.CultureInfo.InvariantCulture), stat.StartTicks);
        Assert.Equal(15UL, stat.CpuTicks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("100 (broken S 1 2")]
    [InlineData("(nopid) " + Tail)]
    [InlineData("abc (x) " + Tail)]
    [InlineData("100 (x) S 1 100")]
    [InlineData("100 (x) S 1 100 100 0 -1 0 10 0 0 0 300 100 7 9 20 0 1 0   \n")] // no starttime
    [InlineData("100 (x) S 1 100 100 0 -1 0 10 0 0 0 300 100 7 9 20 0 1 0 \n")]
    [InlineData("100 (x) S one 100 100 0 -1 0 10 0 0 0 300 100 7 9 20 0 1 0 4242")]
    [InlineData("100 (x) S 1 100 100 0 -1 0 10 0 0 0 -3 100 7 9 20 0 1 0 4242")]
    public void Malformed_lines_are_rejected(string line) =>
        Assert.False(ProcessStat.TryParse(Encoding.UTF8.GetBytes(line), out _));

    [Theory]
    [InlineData(2, 0, 0x00208040u)]
    [InlineData(57, 2, 0x04208060u)]
    [InlineData(57, 2, 0u)] // an old kernel without PF_KTHREAD in the flags: PPID 2 says it
    public void Kernel_threads_are_recognised(int pid, int parentPid, uint flags)
    {
        var line = $"{pid} (kworker/0:1) I {parentPid} 0 0 0 -1 {flags} 0 0 0 0 0 12 0 0 20 0 1 0 5 0 0 18446744073709551615";
        Assert.True(ProcessStat.TryParse(Encoding.UTF8.GetBytes(line), out var stat));
        Assert.True(stat.IsKernelThread);
    }
}
