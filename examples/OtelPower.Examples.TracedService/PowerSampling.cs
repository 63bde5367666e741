using OtelPower.Attribution;
using OtelPower.Sensors;

namespace OtelPower.Examples.TracedService;

/// <summary>
/// Samples the host once a second and publishes each interval's snapshot to the feed the instruments read.
/// The sampling is the agent's loop in miniature: sample, close an interval, publish; a failed sample waits for the next tick.
/// </summary>
internal sealed partial class PowerSampling(AttributionFeed feed, TimeProvider timeProvider, ILogger<PowerSampling> logger, ILogger<HostSampler> samplerLogger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // No containers here: this service meters only its own process.
        var sampler = new HostSampler(new SensorOptions { CgroupfsRoot = null }, timeProvider, samplerLogger);
        var ledger = new EnergyLedger();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), timeProvider);
        try
        {
            do
            {
                try
                {
                    if (ledger.Record(sampler.Sample()) is { } snapshot)
                    {
                        feed.Publish(snapshot);
                    }
                }
                catch (IOException exception)
                {
                    LogSampleFailed(logger, exception);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A power sample failed; the next tick tries again")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);
}
