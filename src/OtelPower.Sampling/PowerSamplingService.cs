using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OtelPower.Attribution;

namespace OtelPower.Sampling;

/// <summary>
/// The heartbeat: on its own timer (of the injected clock) it takes one <see cref="PowerSampler.SampleOnce"/>.
/// Exporters and metric callbacks only ever read published snapshots.
/// </summary>
internal sealed partial class PowerSamplingService : BackgroundService
{
    private readonly PowerSampler _sampler;
    private readonly PowerSamplingOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly ILogger _logger;

    public PowerSamplingService(
        PowerSampler sampler, PowerSamplingOptions options, TimeProvider timeProvider, IHostApplicationLifetime? lifetime, ILogger<PowerSamplingService> logger)
    {
        _sampler = sampler;
        _options = options;
        _options.Validate();
        _timeProvider = timeProvider;
        _lifetime = lifetime;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = _options.Interval;
        LogStarted(_logger, interval.TotalSeconds, _options.ProcfsRoot, _options.SysfsRoot, _sampler.Source.ToName());
        var failures = new LogRateLimiter(_timeProvider, TimeSpan.FromMinutes(1));
        SampleOnce(failures);
        var lastSample = _timeProvider.GetTimestamp();

        // Started after the baseline, whose first-call JIT can take longer than a short interval.
        using var timer = new PeriodicTimer(interval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // A sample that overran its interval is taken late, and the timer's next tick then comes soon
                // after it. CPU time is counted in 10 ms ticks (USER_HZ 100), so a short interval gives noisy
                // watts: skip a tick that comes less than half an interval after the last sample.
                var sinceLastSample = _timeProvider.GetElapsedTime(lastSample);
                if (sinceLastSample < interval / 2)
                {
                    LogTickSkipped(_logger, sinceLastSample.TotalSeconds);
                    continue;
                }

                lastSample = _timeProvider.GetTimestamp();
                if (SampleOnce(failures) is { } snapshot && _options.StopAfterIntervals > 0 && snapshot.IntervalCount >= _options.StopAfterIntervals)
                {
                    _lifetime?.StopApplication();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One sample; a failure is logged (at most once a minute) and the next tick tries again.</summary>
    private AttributionSnapshot? SampleOnce(LogRateLimiter failures)
    {
        try
        {
            return _sampler.SampleOnce();
        }
#pragma warning disable CA1031 // The sampling loop must outlive any one bad sample or exporter.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            if (failures.ShouldLog(out var suppressed))
            {
                LogSampleFailed(_logger, exception, suppressed);
            }

            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sampling every {IntervalSeconds} s from procfs {Procfs} and sysfs {Sysfs}; energy source: {Source}")]
    private static partial void LogStarted(ILogger logger, double intervalSeconds, string procfs, string sysfs, string source);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Skipped a tick {SecondsSinceLastSample} s after a late sample")]
    private static partial void LogTickSkipped(ILogger logger, double secondsSinceLastSample);

    [LoggerMessage(Level = LogLevel.Error, Message = "A sample failed; the next one will try again ({Suppressed} similar failures not logged since the last report)")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception, int suppressed);
}
