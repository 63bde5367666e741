using System.Diagnostics.Tracing;
using Microsoft.Extensions.Logging;
using OtelPower.Sampling;

namespace OtelPower.Agent.Telemetry;

/// <summary>
/// The OpenTelemetry SDK reports export failures (a collector that is down) through its EventSources,
/// which nothing shows by default. This forwards the exporters' warnings and every source's errors to the agent's log, at most
/// one line a minute per source, with a count of what was held back.
/// </summary>
internal sealed partial class OpenTelemetryDiagnostics : EventListener
{
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly Dictionary<string, LogRateLimiter> _limiters = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly List<EventSource> _pending = [];
    private readonly bool _ready; // false while the base constructor announces existing sources

    public OpenTelemetryDiagnostics(ILogger<OpenTelemetryDiagnostics> logger, TimeProvider timeProvider)
    {
        // EventListener's base constructor calls OnEventSourceCreated before this body runs (field
        // initialisers have run): sources seen until then wait in _pending.
        _logger = logger;
        _timeProvider = timeProvider;
        lock (_gate)
        {
            _ready = true;
            foreach (var source in _pending)
            {
                EnableEvents(source, LevelFor(source));
            }

            _pending.Clear();
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (!eventSource.Name.StartsWith("OpenTelemetry", StringComparison.Ordinal))
        {
            return;
        }

        lock (_gate)
        {
            if (_ready)
            {
                EnableEvents(eventSource, LevelFor(eventSource));
            }
            else
            {
                _pending.Add(eventSource);
            }
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (_logger is null || eventData.Level > LevelFor(eventData.EventSource))
        {
            return;
        }

        int suppressed;
        lock (_gate)
        {
            if (!_limiters.TryGetValue(eventData.EventSource.Name, out var limiter))
            {
                limiter = new LogRateLimiter(_timeProvider, TimeSpan.FromMinutes(1));
                _limiters[eventData.EventSource.Name] = limiter;
            }

            if (!limiter.ShouldLog(out suppressed))
            {
                return;
            }
        }

        var message = eventData.Message is { } format && eventData.Payload is { } payload
            ? string.Format(System.Globalization.CultureInfo.InvariantCulture, format, [.. payload])
            : eventData.EventName ?? "(no message)";
        LogDiagnostic(_logger, eventData.EventSource.Name, message, suppressed);
    }

    /// <summary>An unreachable collector is a warning of the exporter; the SDK's own warnings (meters nobody subscribed) are noise here.</summary>
    private static EventLevel LevelFor(EventSource source) =>
        source.Name.StartsWith("OpenTelemetry-Exporter", StringComparison.Ordinal) ? EventLevel.Warning : EventLevel.Error;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Source}: {Message} ({Suppressed} similar events not logged since the last report)")]
    private static partial void LogDiagnostic(ILogger logger, string source, string message, int suppressed);
}
