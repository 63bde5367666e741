using System.Globalization;

namespace OtelPower.Attribution;

/// <summary>An average power in watts.</summary>
public readonly record struct Power(double Watts) : IComparable<Power>
{
    public static Power Zero => default;

    /// <summary>The energy this power delivers over <paramref name="interval"/>.</summary>
    public Energy Over(TimeSpan interval) => Energy.FromJoules(Watts * interval.TotalSeconds);

    public static Power operator +(Power left, Power right) => new(left.Watts + right.Watts);

    public int CompareTo(Power other) => Watts.CompareTo(other.Watts);

    public override string ToString() => Watts.ToString("0.000", CultureInfo.InvariantCulture) + " W";
}
