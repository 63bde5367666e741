namespace OtelPower.Sampling;

/// <summary>
/// Lets a repeated failure through once per period and counts what it held back, so a collector that
/// is down for an hour or a zone that fails every second produces a few lines, not thousands.
/// </summary>
internal sealed class LogRateLimiter
{
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _period;
    private long _lastLoggedTimestamp;
    private bool _hasLogged;
    private int _suppressed;

    public LogRateLimiter(TimeProvider timeProvider, TimeSpan period)
    {
        _timeProvider = timeProvider;
        _period = period;
    }

    public bool ShouldLog(out int suppressedSinceLast)
    {
        var now = _timeProvider.GetTimestamp();
        if (!_hasLogged || _timeProvider.GetElapsedTime(_lastLoggedTimestamp, now) >= _period)
        {
            _hasLogged = true;
            _lastLoggedTimestamp = now;
            suppressedSinceLast = _suppressed;
            _suppressed = 0;
            return true;
        }

        _suppressed++;
        suppressedSinceLast = 0;
        return false;
    }
}
