using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Testing;
using OtelPower.Agent.Bench;
using OtelPower.Agent.Containers;
using OtelPower.Agent.Kubernetes;
using OtelPower.Agent.Sampling;
using OtelPower.Attribution;
using OtelPower.Sensors;

namespace OtelPower.Agent.Tests;

/// <summary>The sampling loop on fake time: intervals come from the injected clock, never from the wall.</summary>
public sealed class SamplingServiceTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly TemporaryDirectory _directory = new();
    private readonly SamplingClock _clock = new();
    private readonly AttributionFeed _feed = new();
    private readonly Channel<AttributionSnapshot> _published = Channel.CreateUnbounded<AttributionSnapshot>();
    private readonly StoppingLifetime _lifetime = new();
    private readonly TaskCompletionSource _skipped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly FakeLogger<SamplingService> _log;

    public SamplingServiceTests()
    {
        _feed.Published += (_, snapshot) => _published.Writer.TryWrite(snapshot);
        _log = new FakeLogger<SamplingService>(FakeLogCollector.Create(new FakeLogCollectorOptions
        {
            OutputSink = line =>
            {
                if (line.Contains("Skipped a tick", StringComparison.Ordinal))
                {
                    _skipped.TrySetResult();
                }
            },
        }));
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Each_tick_closes_an_interval_and_samples_stop_the_host()
    {
        using var service = Create(samples: 3);
        await service.StartAsync(CancellationToken.None);
        await _clock.TimerCreated.WaitAsync(Guard);

        var intervals = new List<TimeSpan>();
        for (var tick = 1; tick <= 3; tick++)
        {
            _clock.Advance(Interval);
            intervals.Add((await NextPublishedAsync()).Interval);
        }

        Assert.Equal([Interval, Interval, Interval], intervals);
        await _lifetime.Stopped.WaitAsync(Guard);
        await service.ExecuteTask!.WaitAsync(Guard);
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_tick_soon_after_a_late_sample_is_skipped()
    {
        using var service = Create(samples: 0);
        using var exporting = new SemaphoreSlim(0);
        var slowOnce = true;
        _feed.Published += (_, _) =>
        {
            // The first interval's exporters are slow: the loop is held here while the test moves the clock.
            if (slowOnce)
            {
                slowOnce = false;
                exporting.Wait();
            }
        };
        await service.StartAsync(CancellationToken.None);
        await _clock.TimerCreated.WaitAsync(Guard);

        _clock.Advance(Interval);                        // t = 1: a sample, whose exporters then hang...
        var first = await NextPublishedAsync();
        _clock.Advance(Interval * 1.6);                  // ...past the tick due at t = 2
        exporting.Release();
        var late = await NextPublishedAsync();           // the pending tick: a late sample at t = 2.6
        _clock.Advance(Interval * 0.4);                  // t = 3: 0.4 intervals after the last sample
        await _skipped.Task.WaitAsync(Guard);            // skipped, not a near-zero interval
        _clock.Advance(Interval);                        // t = 4
        var next = await NextPublishedAsync();

        Assert.Equal([Interval, Interval * 1.6, Interval * 1.4], new[] { first, late, next }.Select(s => s.Interval));
        await service.StopAsync(CancellationToken.None);
    }

    private static TimeSpan Guard => TimeSpan.FromSeconds(30);

    private async Task<AttributionSnapshot> NextPublishedAsync() =>
        await _published.Reader.ReadAsync().AsTask().WaitAsync(Guard);

    private SamplingService Create(int samples)
    {
        var tree = new SyntheticHostTree(_directory.Path);
        tree.WriteCpu(100, 900, 2);
        var options = new AgentOptions { Procfs = tree.Procfs, Sysfs = tree.Sysfs, Cgroupfs = "", Interval = Interval.TotalSeconds, Samples = samples };
        return new SamplingService(
            new HostSampler(options.ToSensorOptions(), _clock, new FakeLogger<HostSampler>()),
            new PodMetadataCache([]),
            new ContainerEngineNames([], Interval, _clock, new FakeLogger<ContainerEngineNames>()),
            new EnergyLedger(),
            _feed,
            options,
            _clock,
            _lifetime,
            _log);
    }

    private sealed class StoppingLifetime : IHostApplicationLifetime
    {
        private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public Task Stopped => _stopped.Task;

        public void StopApplication() => _stopped.TrySetResult();
    }
}
