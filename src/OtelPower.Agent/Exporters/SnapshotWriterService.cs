using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OtelPower.Agent.Sampling;
using OtelPower.Attribution;

namespace OtelPower.Agent.Exporters;

/// <summary>
/// Connects the local writers to the feed for the host's lifetime. A writer that fails (a full disk,
/// a closed pipe) is logged, rate-limited, and never stops sampling or the other writers.
/// </summary>
internal sealed partial class SnapshotWriterService : IHostedService
{
    private readonly AttributionFeed _feed;
    private readonly IReadOnlyList<ISnapshotWriter> _writers;
    private readonly ILogger<SnapshotWriterService> _logger;
    private readonly Dictionary<string, LogRateLimiter> _failures;

    public SnapshotWriterService(AttributionFeed feed, IEnumerable<ISnapshotWriter> writers, TimeProvider timeProvider, ILogger<SnapshotWriterService> logger)
    {
        _feed = feed;
        _writers = writers.ToArray();
        _logger = logger;
        _failures = _writers.ToDictionary(w => w.Name, _ => new LogRateLimiter(timeProvider, TimeSpan.FromMinutes(1)), StringComparer.Ordinal);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _feed.Published += OnPublished;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _feed.Published -= OnPublished;
        return Task.CompletedTask;
    }

    private void OnPublished(object? sender, AttributionSnapshot snapshot)
    {
        foreach (var writer in _writers)
        {
            try
            {
                writer.Write(snapshot);
            }
#pragma warning disable CA1031 // One failing writer must not take the others or the sampling loop down.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                if (_failures[writer.Name].ShouldLog(out var suppressed))
                {
                    LogWriteFailed(_logger, exception, writer.Name, suppressed);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The {Exporter} exporter failed to write a snapshot ({Suppressed} similar failures not logged since the last report)")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string exporter, int suppressed);
}
