namespace OtelPower.Attribution;

/// <summary>
/// A process's identity over time. PIDs are reused; (pid, start time) is not, so a reused PID is a
/// new process that starts from zero.
/// </summary>
/// <param name="Pid">The process id.</param>
/// <param name="StartTicks">Field 22 of <c>/proc/PID/stat</c>: start time after boot, in clock ticks.</param>
public readonly record struct ProcessKey(int Pid, ulong StartTicks) : IComparable<ProcessKey>
{
    public int CompareTo(ProcessKey other)
    {
        var byPid = Pid.CompareTo(other.Pid);
        return byPid != 0 ? byPid : StartTicks.CompareTo(other.StartTicks);
    }

    public static bool operator <(ProcessKey left, ProcessKey right) => left.CompareTo(right) < 0;

    public static bool operator >(ProcessKey left, ProcessKey right) => left.CompareTo(right) > 0;

    public static bool operator <=(ProcessKey left, ProcessKey right) => left.CompareTo(right) <= 0;

    public static bool operator >=(ProcessKey left, ProcessKey right) => left.CompareTo(right) >= 0;
}
