using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OtelPower.Sampling;
using OtelPower.Attribution;

namespace OtelPower.Agent.Exporters;

/// <summary>
/// Connects the local writers to the feed for the host's lifetime. Each writer reads from its own small channel
/// (one snapshot, for an endless run) on its own task, so the sampling loop never waits on a writer: a blocked stdout pipe (a
/// paused <c>less</c>) or a slow disk only makes that writer skip to the newest snapshot, and it says how
/// many it skipped. A writer that fails is logged, rate-limited, and never stops sampling or the others.
/// A finite run (<c>--samples N</c>) asked for N snapshots, so there each channel holds up to N of them
/// (at most <see cref="MaxFiniteBacklog"/>): a writer whose task is scheduled late, as on a loaded machine
/// with a short interval, still writes every one.
/// </summary>
internal sealed partial class SnapshotWriterService : IHostedService
{
    /// <summary>The most snapshots a finite run keeps for a lagging writer; a longer run may skip, as an endless one does.</summary>
    public const int MaxFiniteBacklog = 256;

    private readonly AttributionFeed _feed;
    private readonly ILogger<SnapshotWriterService> _logger;
    private readonly WriterLane[] _lanes;
    private Task[] _draining = [];

    /// <param name="feed">The sampling loop's feed.</param>
    /// <param name="writers">The local writers, each on its own task.</param>
    /// <param name="timeProvider">The clock of the failure log's rate limit.</param>
    /// <param name="logger">Where failures and skips are reported.</param>
    /// <param name="backlog">Snapshots each writer may fall behind before it skips to the newest; see <see cref="BacklogFor"/>.</param>
    public SnapshotWriterService(AttributionFeed feed, IEnumerable<ISnapshotWriter> writers, TimeProvider timeProvider, ILogger<SnapshotWriterService> logger, int backlog = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(backlog, 1);
        _feed = feed;
        _logger = logger;
        Backlog = backlog;
        _lanes = writers.Select(w => new WriterLane(w, backlog, new LogRateLimiter(timeProvider, TimeSpan.FromMinutes(1)))).ToArray();
    }

    /// <summary>Snapshots each writer may fall behind before it skips to the newest.</summary>
    public int Backlog { get; }

    /// <summary>
    /// One snapshot for an endless run (a blocked writer only ever needs the newest), and every snapshot of a
    /// finite run of <paramref name="stopAfterIntervals"/>, up to <see cref="MaxFiniteBacklog"/>.
    /// </summary>
    public static int BacklogFor(int stopAfterIntervals) => stopAfterIntervals <= 0 ? 1 : Math.Min(stopAfterIntervals, MaxFiniteBacklog);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _draining = _lanes.Select(lane => Task.Run(() => DrainAsync(lane), CancellationToken.None)).ToArray();
        _feed.Published += OnPublished;
        return Task.CompletedTask;
    }

    /// <summary>Stops taking snapshots and lets each writer finish the one it holds, until the host's shutdown timeout.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _feed.Published -= OnPublished;
        foreach (var lane in _lanes)
        {
            lane.Snapshots.Writer.TryComplete();
        }

        try
        {
            await Task.WhenAll(_draining).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // A writer still blocked at shutdown: its thread is left to the process exit.
        }
    }

    // On the sampling thread: never blocks. A full channel drops its older snapshot for this one.
    private void OnPublished(object? sender, AttributionSnapshot snapshot)
    {
        foreach (var lane in _lanes)
        {
            lane.Snapshots.Writer.TryWrite(snapshot);
        }
    }

    private async Task DrainAsync(WriterLane lane)
    {
        await foreach (var snapshot in lane.Snapshots.Reader.ReadAllAsync())
        {
            try
            {
                lane.Writer.Write(snapshot);
            }
#pragma warning disable CA1031 // One failing writer must not take the others or the sampling loop down.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                if (lane.Failures.ShouldLog(out var suppressed))
                {
                    LogWriteFailed(_logger, exception, lane.Writer.Name, suppressed);
                }
            }

            if (Interlocked.Exchange(ref lane.Skipped, 0) is var skipped and > 0)
            {
                LogSkipped(_logger, lane.Writer.Name, skipped);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The {Exporter} exporter failed to write a snapshot ({Suppressed} similar failures not logged since the last report)")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string exporter, int suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {Exporter} exporter could not keep up and skipped {Skipped} snapshots to write the newest")]
    private static partial void LogSkipped(ILogger logger, string exporter, int skipped);

    private sealed class WriterLane
    {
        public WriterLane(ISnapshotWriter writer, int backlog, LogRateLimiter failures)
        {
            Writer = writer;
            Failures = failures;
            Snapshots = Channel.CreateBounded<AttributionSnapshot>(
                new BoundedChannelOptions(backlog) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
                _ => Interlocked.Increment(ref Skipped));
        }

        public ISnapshotWriter Writer { get; }

        public LogRateLimiter Failures { get; }

        public Channel<AttributionSnapshot> Snapshots { get; }

#pragma warning disable SA1401, CA1051 // Interlocked needs a field.
        public int Skipped;
#pragma warning restore SA1401, CA1051
    }
}
