namespace OtelPower.Instrumentation.Tests;

/// <summary>The start gate follows a series by its attribute set: keys and values, in any order, as the SDK does.</summary>
public sealed class AttributeSetComparerTests
{
    private static readonly KeyValuePair<string, object?>[] Web =
        [new("process.pid", 100), new("process.executable.name", "web"), new("otelpower.source", "rapl")];

    [Fact]
    public void The_same_pairs_in_another_order_are_the_same_set_with_the_same_hash()
    {
        KeyValuePair<string, object?>[] reordered = [Web[2], Web[0], Web[1]];
        Assert.True(AttributeSetComparer.Instance.Equals(Web, reordered));
        Assert.Equal(AttributeSetComparer.Instance.GetHashCode(Web), AttributeSetComparer.Instance.GetHashCode(reordered));
    }

    [Theory]
    [InlineData("process.pid", 101)]
    [InlineData("process.pid", 100L)] // the SDK tells an int from a long too
    [InlineData("process.parent_pid", 100)]
    public void A_different_value_or_key_is_another_set(string key, object value)
    {
        KeyValuePair<string, object?>[] other = [new(key, value), Web[1], Web[2]];
        Assert.False(AttributeSetComparer.Instance.Equals(Web, other));
    }

    [Fact]
    public void A_subset_is_another_set() =>
        Assert.False(AttributeSetComparer.Instance.Equals(Web, Web[..2]));

    [Fact]
    public void A_measurement_finds_its_series_from_its_span_without_a_copy()
    {
        var series = new Dictionary<KeyValuePair<string, object?>[], string>(AttributeSetComparer.Instance) { [Web] = "web" };
        var lookup = series.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
        ReadOnlySpan<KeyValuePair<string, object?>> measured = [new("otelpower.source", "rapl"), new("process.executable.name", "web"), new("process.pid", 100)];

        Assert.True(lookup.TryGetValue(measured, out var name));
        Assert.Equal("web", name);
        Assert.False(lookup.TryGetValue([new("process.pid", 100)], out _));
    }
}
