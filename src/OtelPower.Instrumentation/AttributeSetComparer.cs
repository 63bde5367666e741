namespace OtelPower.Instrumentation;

/// <summary>
/// Compares attribute sets as the SDK keys a series: the same keys with equal values, in any order. A
/// measurement's attributes are looked up as they are (an alternate lookup on their span), each pair hashed once,
/// instead of joined into a sorted string per series per sample.
/// </summary>
internal sealed class AttributeSetComparer :
    IEqualityComparer<KeyValuePair<string, object?>[]>,
    IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, KeyValuePair<string, object?>[]>
{
    public static AttributeSetComparer Instance { get; } = new();

    private AttributeSetComparer()
    {
    }

    public bool Equals(KeyValuePair<string, object?>[]? x, KeyValuePair<string, object?>[]? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && Equals(x.AsSpan(), y));

    public int GetHashCode(KeyValuePair<string, object?>[] obj) => GetHashCode(obj.AsSpan());

    /// <summary>Equal lengths, and each pair of one found in the other (a set names each key once).</summary>
    public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, KeyValuePair<string, object?>[] other)
    {
        if (alternate.Length != other.Length)
        {
            return false;
        }

        foreach (var pair in alternate)
        {
            if (!Contains(other, pair))
            {
                return false;
            }
        }

        return true;
    }

    public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate)
    {
        // A sum, so that the order of the pairs does not change it.
        var hash = alternate.Length;
        foreach (var (key, value) in alternate)
        {
            hash += HashCode.Combine(key.GetHashCode(StringComparison.Ordinal), value);
        }

        return hash;
    }

    public KeyValuePair<string, object?>[] Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => alternate.ToArray();

    private static bool Contains(KeyValuePair<string, object?>[] pairs, KeyValuePair<string, object?> wanted)
    {
        foreach (var (key, value) in pairs)
        {
            if (string.Equals(key, wanted.Key, StringComparison.Ordinal))
            {
                return Equals(value, wanted.Value);
            }
        }

        return false;
    }
}
