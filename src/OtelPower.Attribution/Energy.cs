using System.Globalization;

namespace OtelPower.Attribution;

/// <summary>
/// An amount of energy, held as whole microjoules so that sums and splits are exact:
/// conservation (processes + idle = host) is checked with <c>==</c>, not a tolerance.
/// </summary>
public readonly record struct Energy(long Microjoules) : IComparable<Energy>
{
    public static Energy Zero => default;

    public double Joules => Microjoules / 1_000_000.0;

    public static Energy FromJoules(double joules) => new(checked((long)Math.Round(joules * 1_000_000.0)));

    /// <summary>The average power that delivers this energy over <paramref name="interval"/>.</summary>
    public Power Over(TimeSpan interval) =>
        interval > TimeSpan.Zero ? new Power(Joules / interval.TotalSeconds) : Power.Zero;

    public static Energy operator +(Energy left, Energy right) => new(left.Microjoules + right.Microjoules);

    public static Energy operator -(Energy left, Energy right) => new(left.Microjoules - right.Microjoules);

    public static bool operator <(Energy left, Energy right) => left.Microjoules < right.Microjoules;

    public static bool operator >(Energy left, Energy right) => left.Microjoules > right.Microjoules;

    public static bool operator <=(Energy left, Energy right) => left.Microjoules <= right.Microjoules;

    public static bool operator >=(Energy left, Energy right) => left.Microjoules >= right.Microjoules;

    public int CompareTo(Energy other) => Microjoules.CompareTo(other.Microjoules);

    public override string ToString() => Joules.ToString("0.000###", CultureInfo.InvariantCulture) + " J";
}
