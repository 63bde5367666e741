using System.Threading.Channels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OtelPower.Agent.Exporters;
using OtelPower.Attribution;

namespace OtelPower.Agent.Tests;

/// <summary>The sampling thread hands snapshots to the writers and never waits on them.</summary>
public sealed class SnapshotWriterServiceTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly AttributionFeed _feed = new();
    private readonly SemaphoreSlim _logged = new(0);
    private readonly FakeLogger<SnapshotWriterService> _log;

    public SnapshotWriterServiceTests() =>
        _log = new FakeLogger<SnapshotWriterService>(FakeLogCollector.Create(new FakeLogCollectorOptions { OutputSink = _ => _logged.Release() }));

    [Fact]
    public async Task A_blocked_writer_never_holds_up_publishing_and_skips_to_the_newest_snapshot()
    {
        using var writer = new BlockingWriter();
        var service = new SnapshotWriterService(_feed, [writer], new FakeTimeProvider(), _log);
        await service.StartAsync(CancellationToken.None);

        // Published from another thread, so that a service that wrote on the publishing thread fails here
        // instead of hanging the test.
        await Task.Run(() => _feed.Publish(Snapshot(1))).WaitAsync(Guard);
        Assert.Equal(1, await writer.Entered.Reader.ReadAsync().AsTask().WaitAsync(Guard)); // the writer now blocks in Write

        // The sampling thread publishes four more while the writer is stuck: none of them waits.
        await Task.Run(() =>
        {
            for (var count = 2; count <= 5; count++)
            {
                _feed.Publish(Snapshot(count));
            }
        }).WaitAsync(Guard);

        writer.Release();
        Assert.Equal(5, await writer.Entered.Reader.ReadAsync().AsTask().WaitAsync(Guard)); // the newest; 2 to 4 skipped
        writer.Release();
        var skipped = await NextLogAsync(LogLevel.Warning);
        Assert.Contains("skipped 3 snapshots", skipped.Message, StringComparison.Ordinal);
        Assert.Contains(writer.Name, skipped.Message, StringComparison.Ordinal);

        await service.StopAsync(CancellationToken.None);
        Assert.Equal([1, 5], writer.Written);
    }

    [Fact]
    public async Task A_finite_run_keeps_every_snapshot_for_a_writer_that_lags()
    {
        // --samples 4: the writer's task gets the CPU late (here: it blocks on the first) and still writes all four.
        using var writer = new BlockingWriter();
        var service = new SnapshotWriterService(_feed, [writer], new FakeTimeProvider(), _log, SnapshotWriterService.BacklogFor(4));
        await service.StartAsync(CancellationToken.None);

        await Task.Run(() => _feed.Publish(Snapshot(1))).WaitAsync(Guard);
        Assert.Equal(1, await writer.Entered.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        await Task.Run(() =>
        {
            for (var count = 2; count <= 4; count++)
            {
                _feed.Publish(Snapshot(count));
            }
        }).WaitAsync(Guard);

        for (var count = 1; count <= 4; count++)
        {
            writer.Release();
        }

        await service.StopAsync(CancellationToken.None);
        Assert.Equal([1, 2, 3, 4], writer.Written);
        Assert.DoesNotContain(_log.Collector.GetSnapshot(), r => r.Level >= LogLevel.Warning);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(SnapshotWriterService.MaxFiniteBacklog, SnapshotWriterService.MaxFiniteBacklog)]
    [InlineData(100_000, SnapshotWriterService.MaxFiniteBacklog)]
    public void The_backlog_is_one_snapshot_when_endless_and_the_whole_run_when_finite(int samples, int backlog) =>
        Assert.Equal(backlog, SnapshotWriterService.BacklogFor(samples));

    [Theory]
    [InlineData(0, 1)]
    [InlineData(2, 2)]
    public void The_agent_host_sizes_the_writers_backlog_from_samples(int samples, int backlog)
    {
        var options = new AgentOptions
        {
            Samples = samples,
            Exporter = AgentOptions.JsonExporter,
            NvmlLibrary = "/nonexistent/libnvidia-ml.so.1",
            ContainerEngines = string.Empty,
        };
        using var host = AgentHost.CreateBuilder(new ConfigurationBuilder().Build(), options, "test").Build();
        var service = host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<SnapshotWriterService>().Single();
        Assert.Equal(backlog, service.Backlog);
    }

    [Fact]
    public async Task A_writer_that_keeps_up_gets_every_snapshot_and_stop_waits_for_the_last()
    {
        var writer = new ListWriter();
        var service = new SnapshotWriterService(_feed, [writer], new FakeTimeProvider(), _log);
        await service.StartAsync(CancellationToken.None);

        for (var count = 1; count <= 3; count++)
        {
            _feed.Publish(Snapshot(count));
            Assert.Equal(count, await writer.Written.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        }

        _feed.Publish(Snapshot(4));
        await service.StopAsync(CancellationToken.None);

        Assert.True(writer.Written.Reader.TryRead(out var last) && last == 4, "stop lets the writer finish the snapshot it was handed");
        Assert.DoesNotContain(_log.Collector.GetSnapshot(), r => r.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task A_failing_writer_is_logged_and_the_others_still_write()
    {
        var good = new ListWriter();
        var service = new SnapshotWriterService(_feed, [new FailingWriter(), good], new FakeTimeProvider(), _log);
        await service.StartAsync(CancellationToken.None);

        _feed.Publish(Snapshot(1));

        Assert.Equal(1, await good.Written.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        var failure = await NextLogAsync(LogLevel.Error);
        Assert.Contains("failing", failure.Message, StringComparison.Ordinal);
        await service.StopAsync(CancellationToken.None);
    }

    private static AttributionSnapshot Snapshot(long count) => new(
        DateTimeOffset.UnixEpoch.AddSeconds(count),
        TimeSpan.FromSeconds(1),
        count,
        EnergySource.Rapl,
        EnergyTally.Start(Energy.FromJoules(count), TimeSpan.FromSeconds(1)),
        [],
        EnergyTally.Start(Energy.FromJoules(count), TimeSpan.FromSeconds(1)),
        [],
        100);

    /// <summary>The first record at <paramref name="level"/>, looking again each time the logger is written to.</summary>
    private async Task<FakeLogRecord> NextLogAsync(LogLevel level)
    {
        while (true)
        {
            if (_log.Collector.GetSnapshot().FirstOrDefault(r => r.Level == level) is { } record)
            {
                return record;
            }

            Assert.True(await _logged.WaitAsync(Guard), $"nothing logged at {level}");
        }
    }

    /// <summary>Blocks in every Write until the test releases it, as a paused pager blocks stdout.</summary>
    private sealed class BlockingWriter : ISnapshotWriter, IDisposable
    {
        private readonly SemaphoreSlim _release = new(0);
        private readonly List<long> _written = [];

        public string Name => "blocking";

        public Channel<long> Entered { get; } = Channel.CreateUnbounded<long>();

        public IReadOnlyList<long> Written
        {
            get
            {
                lock (_written)
                {
                    return [.. _written];
                }
            }
        }

        public void Write(AttributionSnapshot snapshot)
        {
            Entered.Writer.TryWrite(snapshot.IntervalCount);
            _release.Wait();
            lock (_written)
            {
                _written.Add(snapshot.IntervalCount);
            }
        }

        public void Release() => _release.Release();

        public void Dispose() => _release.Dispose();
    }

    private sealed class ListWriter : ISnapshotWriter
    {
        public string Name => "list";

        public Channel<long> Written { get; } = Channel.CreateUnbounded<long>();

        public void Write(AttributionSnapshot snapshot) => Written.Writer.TryWrite(snapshot.IntervalCount);
    }

    private sealed class FailingWriter : ISnapshotWriter
    {
        public string Name => "failing";

        public void Write(AttributionSnapshot snapshot) => throw new IOException("disk full");
    }
}
