namespace OtelPower.Attribution;

/// <summary>
/// A workload as the engine sees it: a kind and an id unique within the kind. The engine joins samples
/// on <see cref="Key"/> and never looks further; each kind's record (<see cref="ContainerIdentity"/>,
/// <see cref="VmIdentity"/>) carries what its exporters name.
/// </summary>
public abstract record WorkloadIdentity
{
    public abstract WorkloadKind Kind { get; }

    /// <summary>Unique within <see cref="Kind"/> for the workload's lifetime (a container id, a VM's cgroup).</summary>
    public abstract string Id { get; }

    public WorkloadKey Key => new(Kind, Id);
}

/// <summary>The engine's join key for a workload: sorted by kind, then by id (ordinal).</summary>
public readonly record struct WorkloadKey(WorkloadKind Kind, string Id) : IComparable<WorkloadKey>
{
    public int CompareTo(WorkloadKey other)
    {
        var byKind = Kind.CompareTo(other.Kind);
        return byKind != 0 ? byKind : string.CompareOrdinal(Id, other.Id);
    }

    public static bool operator <(WorkloadKey left, WorkloadKey right) => left.CompareTo(right) < 0;

    public static bool operator >(WorkloadKey left, WorkloadKey right) => left.CompareTo(right) > 0;

    public static bool operator <=(WorkloadKey left, WorkloadKey right) => left.CompareTo(right) <= 0;

    public static bool operator >=(WorkloadKey left, WorkloadKey right) => left.CompareTo(right) >= 0;
}
