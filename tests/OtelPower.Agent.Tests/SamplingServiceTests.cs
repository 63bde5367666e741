using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using OtelPower.Agent.Containers;
using OtelPower.Agent.Kubernetes;
using OtelPower.Agent.Sampling;
using OtelPower.Attribution;
using OtelPower.Sensors;
using OtelPower.Testing;

namespace OtelPower.Agent.Tests;

/// <summary>The sampling loop on fake time: intervals come from the injected clock, never from the wall.</summary>
public sealed class SamplingServiceTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly TemporaryDirectory _directory = new();
    private readonly ManualTimeProvider _clock = new();
    private readonly AttributionFeed _feed = new();
    private readonly List<AttributionSnapshot> _published = [];
    private readonly StoppingLifetime _lifetime = new();

    public SamplingServiceTests() => _feed.Published += (_, snapshot) =>
    {
        lock (_published)
        {
            _published.Add(snapshot);
        }
    };

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Each_tick_closes_an_interval_and_samples_stop_the_host()
    {
        using var service = Create(samples: 3);
        await service.StartAsync(CancellationToken.None);
        await WaitForAsync(() => _clock.TimerCount > 0); // ExecuteAsync runs on its own task

        for (var tick = 1; tick <= 3; tick++)
        {
            _clock.Advance(Interval);
            await WaitForAsync(() => Published.Count == tick);
        }

        Assert.All(Published, s => Assert.Equal(Interval, s.Interval));
        await WaitForAsync(() => _lifetime.Stopped);
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_tick_soon_after_a_late_sample_is_skipped()
    {
        using var service = Create(samples: 0);
        var slowOnce = true;
        _feed.Published += (_, _) =>
        {
            // The first interval's exporters take 1.6 intervals of (fake) time: the tick due at t = 2 passes
            // meanwhile, so the next sample is late (t = 2.6) and the tick at t = 3 comes 0.4 intervals after it.
            if (slowOnce)
            {
                slowOnce = false;
                _clock.Advance(Interval * 1.6);
            }
        };
        await service.StartAsync(CancellationToken.None);
        await WaitForAsync(() => _clock.TimerCount > 0);

        _clock.Advance(Interval);                        // t = 1: sample; publishing runs the clock to 2.6
        await WaitForAsync(() => Published.Count == 2);  // the pending tick: a sample at 2.6
        _clock.Advance(Interval * 0.4);                  // t = 3: 0.4 intervals after the last sample: skipped
        _clock.Advance(Interval);                        // t = 4
        await WaitForAsync(() => Published.Count == 3);

        Assert.Equal([Interval, Interval * 1.6, Interval * 1.4], Published.Select(s => s.Interval));
        await service.StopAsync(CancellationToken.None);
    }

    private List<AttributionSnapshot> Published
    {
        get
        {
            lock (_published)
            {
                return [.. _published];
            }
        }
    }

    private SamplingService Create(int samples)
    {
        var tree = new SyntheticHostTree(_directory.Path);
        tree.WriteCpu(100, 900, 2);
        var options = new AgentOptions { Procfs = tree.Procfs, Sysfs = tree.Sysfs, Cgroupfs = "", Interval = Interval.TotalSeconds, Samples = samples };
        return new SamplingService(
            new HostSampler(options.ToSensorOptions(), _clock, NullLogger<HostSampler>.Instance),
            new PodMetadataCache([]),
            new ContainerEngineNames([], Interval, _clock, NullLogger<ContainerEngineNames>.Instance),
            new EnergyLedger(),
            _feed,
            options,
            _clock,
            _lifetime,
            NullLogger<SamplingService>.Instance);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the sampling loop did not get there");
            await Task.Delay(10);
        }
    }

    private sealed class StoppingLifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public bool Stopped { get; private set; }

        public void StopApplication() => Stopped = true;
    }
}
