namespace OtelPower.Attribution;

/// <summary>
/// The one merge-join of the engine: two lists sorted by the same key (processes by (pid, start),
/// workloads by (kind, id)) matched in one pass, for interval deltas and for cumulative books alike.
/// </summary>
internal static class SortedJoin
{
    /// <summary>For each item of <paramref name="now"/>, the index of the item of <paramref name="before"/> with its key, or -1.</summary>
    public static int[] Match<TBefore, TNow, TKey>(
        ReadOnlySpan<TBefore> before, ReadOnlySpan<TNow> now, Func<TBefore, TKey> keyOfBefore, Func<TNow, TKey> keyOfNow)
        where TKey : IComparable<TKey>
    {
        var matches = new int[now.Length];
        var j = 0;
        for (var i = 0; i < now.Length; i++)
        {
            var key = keyOfNow(now[i]);
            while (j < before.Length && keyOfBefore(before[j]).CompareTo(key) < 0)
            {
                j++;
            }

            matches[i] = j < before.Length && keyOfBefore(before[j]).CompareTo(key) == 0 ? j : -1;
        }

        return matches;
    }

    /// <summary>
    /// <see cref="Match{TBefore, TNow, TKey}"/>, into a span the caller rents,
    /// for two lists of processes, each sorted by (pid, start) with each process once. A sensor hands out one
    /// identity object per process for its whole life, so the same object in both lists is a match found without
    /// reading either key: following each of thousands of identities every sample was a cache miss apiece.
    /// Keys are compared only where the objects differ (a process that started or exited, or identities made apart).
    /// </summary>
    public static void MatchProcesses<TBefore, TNow>(ReadOnlySpan<TBefore> before, ReadOnlySpan<TNow> now, Span<int> matches)
        where TBefore : struct, IProcessRow
        where TNow : struct, IProcessRow
    {
        var j = 0;
        for (var i = 0; i < now.Length; i++)
        {
            var process = now[i].Process;
            if (j < before.Length && ReferenceEquals(before[j].Process, process))
            {
                matches[i] = j++;
                continue;
            }

            var key = process.Key;
            while (j < before.Length && before[j].Process.Key.CompareTo(key) < 0)
            {
                j++;
            }

            if (j < before.Length && before[j].Process.Key.CompareTo(key) == 0)
            {
                matches[i] = j++;
            }
            else
            {
                matches[i] = -1;
            }
        }
    }

    /// <summary>The index of <paramref name="key"/> in a sorted list, or -1.</summary>
    public static int Find<T, TKey>(ReadOnlySpan<T> items, TKey key, Func<T, TKey> keyOf)
        where TKey : IComparable<TKey>
    {
        int low = 0, high = items.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            var order = keyOf(items[middle]).CompareTo(key);
            if (order == 0)
            {
                return middle;
            }

            if (order < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return -1;
    }

    /// <summary>The run of one kind in a list sorted by (kind, id).</summary>
    public static ReadOnlySpan<T> OfKind<T>(ReadOnlySpan<T> items, WorkloadKind kind, Func<T, WorkloadKind> kindOf)
    {
        var start = 0;
        while (start < items.Length && kindOf(items[start]) < kind)
        {
            start++;
        }

        var end = start;
        while (end < items.Length && kindOf(items[end]) == kind)
        {
            end++;
        }

        return items[start..end];
    }
}
