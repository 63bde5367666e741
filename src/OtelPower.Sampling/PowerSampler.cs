using OtelPower.Attribution;
using OtelPower.Sensors;

namespace OtelPower.Sampling;

/// <summary>
/// One turn of the sampling loop: sample the host, close an interval in the ledger, publish the snapshot on
/// the feed. The hosted loop (<c>AddPowerSampling</c>) calls it on its timer; a benchmark or a hand-made loop
/// calls it directly. Not thread-safe: one loop owns it, as it owns the ledger.
/// </summary>
public sealed class PowerSampler
{
    private readonly HostSampler _sampler;
    private readonly EnergyLedger _ledger;
    private readonly AttributionFeed _feed;
    private readonly IContainerMetadataSource? _names;

    public PowerSampler(HostSampler sampler, AttributionFeed feed)
        : this(sampler, feed, names: null)
    {
    }

    public PowerSampler(HostSampler sampler, AttributionFeed feed, IContainerMetadataSource? names)
        : this(sampler, feed, names, attributePlatformOther: false)
    {
    }

    /// <param name="sampler">Reads the host.</param>
    /// <param name="feed">Where each interval's snapshot is published.</param>
    /// <param name="names">Container and pod names at each sample; null for none.</param>
    /// <param name="attributePlatformOther">Divide the platform meter's other energy among consumers (<see cref="PowerSamplingOptions.AttributePlatformOther"/>).</param>
    public PowerSampler(HostSampler sampler, AttributionFeed feed, IContainerMetadataSource? names, bool attributePlatformOther)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(feed);
        _sampler = sampler;
        _feed = feed;
        _names = names;
        _ledger = new EnergyLedger(attributePlatformOther);
    }

    /// <summary>Where the host's energy comes from (RAPL, hwmon, the estimate...), chosen once by the sampler.</summary>
    public EnergySource Source => _sampler.Source;

    /// <summary>
    /// Samples the host and publishes the interval that closes. The first call only sets the baseline and
    /// returns null. Throws what <see cref="HostSampler.Sample"/> throws (/proc/stat unreadable); the books are
    /// unchanged then, and the next call closes a longer interval.
    /// </summary>
    public AttributionSnapshot? SampleOnce()
    {
        var sample = _names is { } names ? _sampler.Sample(names.Containers, names.Pods) : _sampler.Sample();
        var snapshot = _ledger.Record(sample);
        if (snapshot is not null)
        {
            _feed.Publish(snapshot);
        }

        return snapshot;
    }
}
