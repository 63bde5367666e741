namespace OtelPower.Attribution;

/// <summary>A row of a per-process list (readings, deltas, books): what <see cref="SortedJoin.MatchProcesses{TBefore, TNow}"/> joins on.</summary>
internal interface IProcessRow
{
    ProcessIdentity Process { get; }
}
