using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OtelPower.Agent.Containers;
using OtelPower.Agent.Kubernetes;
using OtelPower.Attribution;
using OtelPower.Sensors;

namespace OtelPower.Agent.Sampling;

/// <summary>
/// The agent's heartbeat: on its own timer it samples the host, closes an interval in the ledger and
/// publishes the snapshot. Exporters and metric callbacks only ever read published snapshots.
/// </summary>
internal sealed partial class SamplingService : BackgroundService
{
    private readonly HostSampler _sampler;
    private readonly EnergyLedger _ledger;
    private readonly AttributionFeed _feed;
    private readonly AgentOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<SamplingService> _logger;
    private readonly PodMetadataCache _pods;
    private readonly ContainerEngineNames _engines;
    private object? _podNamesSource;
    private IReadOnlyDictionary<string, ContainerMetadata> _podNames = new Dictionary<string, ContainerMetadata>();

    public SamplingService(
        HostSampler sampler,
        PodMetadataCache pods,
        ContainerEngineNames engines,
        EnergyLedger ledger,
        AttributionFeed feed,
        AgentOptions options,
        TimeProvider timeProvider,
        IHostApplicationLifetime lifetime,
        ILogger<SamplingService> logger)
    {
        _sampler = sampler;
        _pods = pods;
        _engines = engines;
        _ledger = ledger;
        _feed = feed;
        _options = options;
        _timeProvider = timeProvider;
        _lifetime = lifetime;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(_logger, _sampler.Source.ToName(), _options.Interval, _options.Procfs, _options.Sysfs);
        var failures = new LogRateLimiter(_timeProvider, TimeSpan.FromMinutes(1));
        SampleOnce(failures);
        var lastSample = _timeProvider.GetTimestamp();

        // Started after the baseline, whose first-call JIT can take longer than a short interval.
        using var timer = new PeriodicTimer(_options.SamplingInterval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // A sample that overran its interval is taken late, and the timer's next tick then comes soon
                // after it. CPU time is counted in 10 ms ticks (USER_HZ 100), so a short interval gives noisy
                // watts: skip a tick that comes less than half an interval after the last sample.
                var sinceLastSample = _timeProvider.GetElapsedTime(lastSample);
                if (sinceLastSample < _options.SamplingInterval / 2)
                {
                    LogTickSkipped(_logger, sinceLastSample.TotalSeconds);
                    continue;
                }

                lastSample = _timeProvider.GetTimestamp();
                if (SampleOnce(failures) is { } snapshot && _options.Samples > 0 && snapshot.IntervalCount >= _options.Samples)
                {
                    _lifetime.StopApplication();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Pod names by UID for containers whose ids the API has not reported yet; rebuilt only when the pods change.</summary>
    private IReadOnlyDictionary<string, ContainerMetadata> PodNames()
    {
        var pods = _pods.Pods;
        if (!ReferenceEquals(pods, _podNamesSource))
        {
            _podNames = pods.ToDictionary(p => p.Key, p => new ContainerMetadata(p.Value.Name, p.Value.Namespace, null, p.Value.Labels), StringComparer.Ordinal);
            _podNamesSource = pods;
        }

        return _podNames;
    }

    /// <summary>One sample; a failure is logged (at most once a minute) and the next tick tries again.</summary>
    private AttributionSnapshot? SampleOnce(LogRateLimiter failures)
    {
        try
        {
            // Names as the Kubernetes API knows them now; ids from cgroups flow even while it is unreachable.
            var snapshot = _ledger.Record(_sampler.Sample(ContainerEngineNames.Merge(_pods.Current, _engines.Current), PodNames()));
            if (snapshot is not null)
            {
                _feed.Publish(snapshot);
            }

            return snapshot;
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
    private static partial void LogStarted(ILogger logger, string source, double intervalSeconds, string procfs, string sysfs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Skipped a tick {SecondsSinceLastSample} s after a late sample")]
    private static partial void LogTickSkipped(ILogger logger, double secondsSinceLastSample);

    [LoggerMessage(Level = LogLevel.Error, Message = "A sample failed; the next one will try again ({Suppressed} similar failures not logged since the last report)")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception, int suppressed);
}
