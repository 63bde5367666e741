namespace OtelPower.Attribution;

/// <summary>
/// What is known about a process that does not change while it lives. Created once per process by
/// the sensor and shared by every sample, so a sample of thousands of processes allocates no strings.
/// </summary>
public sealed class ProcessIdentity
{
    public ProcessIdentity(ProcessKey key, string comm, string executableName, string? commandLine, bool isKernelThread, WorkloadIdentity? workload = null)
    {
        ArgumentNullException.ThrowIfNull(comm);
        ArgumentNullException.ThrowIfNull(executableName);
        Key = key;
        Comm = comm;
        ExecutableName = executableName;
        CommandLine = commandLine;
        IsKernelThread = isKernelThread;
        Workload = workload;
    }

    public ProcessKey Key { get; }

    public int Pid => Key.Pid;

    /// <summary>The kernel's <c>comm</c> (at most 15 bytes, may hold any character but NUL).</summary>
    public string Comm { get; }

    /// <summary>The file name of <c>/proc/PID/exe</c> when readable, else <see cref="Comm"/>.</summary>
    public string ExecutableName { get; }

    /// <summary>The command line, only when the user opted in: it often carries secrets.</summary>
    public string? CommandLine { get; }

    /// <summary>A kernel thread (kthreadd's children: PPID 2, empty cmdline).</summary>
    public bool IsKernelThread { get; }

    /// <summary>The workload (container, VM) the process belongs to, from its cgroup or its command; null on the host.</summary>
    public WorkloadIdentity? Workload { get; }

    /// <summary>The container the process runs in, from its cgroup; null on the host or in another kind of workload.</summary>
    public ContainerIdentity? Container => Workload as ContainerIdentity;

    public override string ToString() => $"{Pid} ({Comm})";
}

/// <summary>A process's cumulative CPU time at one sample: utime + stime, in clock ticks.</summary>
/// <remarks>cutime and cstime are left out: they are reaped children, counted already while they ran.</remarks>
public readonly record struct ProcessCpuReading(ProcessIdentity Process, ulong CpuTicks) : IProcessRow
{
    public ProcessKey Key => Process.Key;
}
