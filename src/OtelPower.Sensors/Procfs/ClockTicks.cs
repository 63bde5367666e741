using System.Runtime.InteropServices;

namespace OtelPower.Sensors.Procfs;

/// <summary>USER_HZ, the unit of /proc/stat and /proc/PID/stat times: sysconf(_SC_CLK_TCK), not CONFIG_HZ.</summary>
internal static partial class ClockTicks
{
    private const int ScClkTck = 2; // _SC_CLK_TCK on Linux (glibc and musl)
    private const long Fallback = 100;

    private static readonly Lazy<long> Value = new(Query);

    public static long PerSecond => Value.Value;

    private static long Query() => TryQuerySysconf(out var ticks) ? ticks : Fallback; // else the ABI's value

    /// <summary>sysconf(_SC_CLK_TCK); false where there is no libc sysconf or it fails.</summary>
    internal static bool TryQuerySysconf(out long ticks)
    {
        try
        {
            ticks = SysConf(ScClkTck);
            return ticks > 0;
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            ticks = 0;
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);
}
