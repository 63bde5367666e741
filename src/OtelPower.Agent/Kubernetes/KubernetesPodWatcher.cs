using System.Net;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtelPower.Agent.Kubernetes.Api;

namespace OtelPower.Agent.Kubernetes;

/// <summary>
/// Keeps <see cref="PodMetadataCache"/> in step with the pods of this node: list, then watch from the list's
/// resourceVersion; re-watch when a watch ends; relist on 410 Gone; on any other failure wait
/// <see cref="KubernetesOptions.ResyncBackoff"/> and relist. The cache keeps its last contents while the API is
/// unreachable, and nothing here stops the host.
/// </summary>
internal sealed partial class KubernetesPodWatcher : BackgroundService
{
    // The server ends each watch after this long (client-go picks 5 to 10 minutes) so a half-open
    // connection cannot leave the cache silently stale.
    private const int WatchTimeoutSeconds = 300;

    // A watch that closes at once with nothing in it would otherwise be reopened in a tight loop (client-go
    // calls this a "very short watch" and backs off too).
    private static readonly TimeSpan ShortWatch = TimeSpan.FromSeconds(1);

    // While the API stays unreachable, repeat the warning this often rather than on every retry.
    private static readonly TimeSpan FailureLogInterval = TimeSpan.FromMinutes(5);

    private readonly KubernetesOptions options;
    private readonly PodMetadataCache cache;
    private readonly TimeProvider timeProvider;
    private readonly ILogger<KubernetesPodWatcher> logger;

    private int consecutiveFailures;
    private long? lastWarningTimestamp;
    private bool warnedSinceRecovery;

    public KubernetesPodWatcher(IOptions<KubernetesOptions> options, PodMetadataCache cache, TimeProvider timeProvider, ILogger<KubernetesPodWatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        this.cache = cache ?? throw new ArgumentNullException(nameof(cache));
        this.timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        this.logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    private enum WatchEnd
    {
        Closed,
        Gone,
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled)
        {
            return;
        }

        if (options.ResolveNodeName() is not { } nodeName)
        {
            LogNodeNameUnknown(logger);
            return;
        }

        KubernetesApiConnection connection;
        try
        {
            connection = KubernetesClientFactory.Create(options);
        }
        catch (Exception e) // Without a usable configuration the agent still measures; it only lacks names.
        {
            LogConfigurationUnusable(logger, e);
            return;
        }

        using (connection)
        {
            await RunAsync(new PodApiClient(connection), "spec.nodeName=" + nodeName, nodeName, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task RunAsync(PodApiClient client, string fieldSelector, string nodeName, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                string resourceVersion = await ListAsync(client, fieldSelector, nodeName, stoppingToken).ConfigureAwait(false);
                await WatchUntilGoneAsync(client, fieldSelector, resourceVersion, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) // Refused, reset, 5xx, 403, bad JSON: all answered alike, back off and relist.
            {
                RecordFailure(e);
                try
                {
                    await Task.Delay(options.ResyncBackoff, timeProvider, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<string> ListAsync(PodApiClient client, string fieldSelector, string nodeName, CancellationToken cancellationToken)
    {
        V1PodList list = await client.ListAsync(fieldSelector, cancellationToken).ConfigureAwait(false);
        IList<V1Pod> pods = list.Items ?? [];
        cache.Replace(pods);
        if (warnedSinceRecovery)
        {
            LogApiReachableAgain(logger, consecutiveFailures);
            warnedSinceRecovery = false;
        }

        consecutiveFailures = 0;

        LogListed(logger, pods.Count, nodeName, list.Metadata?.ResourceVersion);
        return list.Metadata?.ResourceVersion ?? string.Empty;
    }

    private async Task WatchUntilGoneAsync(PodApiClient client, string fieldSelector, string resourceVersion, CancellationToken cancellationToken)
    {
        while (true)
        {
            (WatchEnd end, resourceVersion) = await WatchOnceAsync(client, fieldSelector, resourceVersion, cancellationToken).ConfigureAwait(false);
            if (end == WatchEnd.Gone)
            {
                LogResourceVersionGone(logger, resourceVersion);
                return;
            }
        }
    }

    private async Task<(WatchEnd End, string ResourceVersion)> WatchOnceAsync(
        PodApiClient client, string fieldSelector, string resourceVersion, CancellationToken cancellationToken)
    {
        using var watchCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bool gone = false;
        KubernetesStatusException? errorEvent = null;
        int events = 0;
        long started = timeProvider.GetTimestamp();

        // The stream reports an ERROR event (a Status object) through onError and keeps reading; stop reading
        // instead: the server closes the stream after it anyway.
        void OnError(Exception e)
        {
            if (e is KubernetesStatusException { Code: (int)HttpStatusCode.Gone })
            {
                gone = true;
                watchCancellation.Cancel();
            }
            else if (e is KubernetesStatusException statusException)
            {
                errorEvent = statusException;
                watchCancellation.Cancel();
            }
            else
            {
                LogUndecodableEvent(logger, e);
            }
        }

        try
        {
            IAsyncEnumerable<(string Type, V1Pod Pod)> stream = client.WatchAsync(
                fieldSelector, resourceVersion, WatchTimeoutSeconds, OnError, watchCancellation.Token);
            await foreach ((string type, V1Pod pod) in stream.ConfigureAwait(false))
            {
                events++;
                switch (type)
                {
                    case "ADDED":
                    case "MODIFIED":
                        cache.Upsert(pod);
                        break;
                    case "DELETED":
                        cache.Remove(pod);
                        break;
                    default:
                        // BOOKMARK carries only the resourceVersion.
                        break;
                }

                if (pod.Metadata?.ResourceVersion is { Length: > 0 } seen)
                {
                    resourceVersion = seen;
                }
            }
        }
        catch (HttpRequestException e) when (e.StatusCode == HttpStatusCode.Gone)
        {
            return (WatchEnd.Gone, resourceVersion);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && watchCancellation.IsCancellationRequested)
        {
            // Cancelled by OnError; decided below.
        }

        if (gone)
        {
            return (WatchEnd.Gone, resourceVersion);
        }

        if (errorEvent is not null)
        {
            ExceptionDispatchInfo.Throw(errorEvent);
        }

        if (events == 0 && timeProvider.GetElapsedTime(started) < ShortWatch)
        {
            throw new HttpRequestException("The pod watch closed at once without an event.");
        }

        LogWatchClosed(logger, events, resourceVersion);
        return (WatchEnd.Closed, resourceVersion);
    }

    // Warnings are limited by time, not by streak: a watch refused right after every successful list (RBAC
    // without "watch") must not warn every ResyncBackoff either.
    private void RecordFailure(Exception e)
    {
        consecutiveFailures++;
        long now = timeProvider.GetTimestamp();
        if (lastWarningTimestamp is not { } last || timeProvider.GetElapsedTime(last, now) >= FailureLogInterval)
        {
            lastWarningTimestamp = now;
            warnedSinceRecovery = true;
            LogApiUnreachable(logger, consecutiveFailures, options.ResyncBackoff, e);
        }
        else
        {
            LogRetrying(logger, consecutiveFailures, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kubernetes pod names are off: no node name (set --node-name or NODE_NAME from the downward API spec.nodeName).")]
    private static partial void LogNodeNameUnknown(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kubernetes pod names are off: no usable client configuration (in-cluster service account or kubeconfig).")]
    private static partial void LogConfigurationUnusable(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listed {PodCount} pods on node {NodeName} at resourceVersion {ResourceVersion}.")]
    private static partial void LogListed(ILogger logger, int podCount, string nodeName, string? resourceVersion);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pod watch closed after {EventCount} events; watching again from resourceVersion {ResourceVersion}.")]
    private static partial void LogWatchClosed(ILogger logger, int eventCount, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pod watch resourceVersion {ResourceVersion} expired (410 Gone); listing again.")]
    private static partial void LogResourceVersionGone(ILogger logger, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Skipped a pod watch line that could not be read.")]
    private static partial void LogUndecodableEvent(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kubernetes API unreachable ({FailureCount} failures in a row); keeping the last known pods, retrying every {Backoff}, warning again in 5 minutes at the earliest.")]
    private static partial void LogApiUnreachable(ILogger logger, int failureCount, TimeSpan backoff, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Kubernetes API still unreachable ({FailureCount} failures in a row): {Reason}")]
    private static partial void LogRetrying(ILogger logger, int failureCount, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kubernetes API reachable again after {FailureCount} failures.")]
    private static partial void LogApiReachableAgain(ILogger logger, int failureCount);
}
