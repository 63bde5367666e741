using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using OtelPower.Agent.Kubernetes;
using OtelPower.Attribution;
using static OtelPower.Agent.Tests.Kubernetes.PodFixtures;

namespace OtelPower.Agent.Tests.Kubernetes;

/// <summary>The watcher and its HTTP client against <see cref="FakeKubernetesApiServer"/>.</summary>
public sealed class KubernetesPodWatcherTests : IDisposable
{
    // A guard against a hang, not a timing claim: under two CPU burners a relist took longer than 10 s.
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    private readonly string directory = Directory.CreateTempSubdirectory("otelpower-k8s-").FullName;
    private readonly FakeLogger<KubernetesPodWatcher> logger = new();

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Lists_only_this_node_and_names_containers_in_two_namespaces()
    {
        await using FakeKubernetesApiServer server = await FakeKubernetesApiServer.StartAsync();
        server.EnqueueList(List("100",
            Pod("shop", "web-1", "uid-web", "90",
                labels: new Dictionary<string, string> { ["app.kubernetes.io/name"] = "web", ["team"] = "storefront" },
                containers: [Container("nginx", "containerd://" + Hex('a')), Container("sidecar", "containerd://" + Hex('b'))]),
            Pod("billing", "invoices-0", "uid-invoices", "95",
                labels: new Dictionary<string, string> { ["app.kubernetes.io/name"] = "invoices" },
                containers: [Container("api", "cri-o://" + Hex('c'))],
                initContainers: [Container("migrate", "cri-o://" + Hex('d'))])));

        (KubernetesPodWatcher watcher, PodMetadataCache cache) = Create(server);
        await using (Run(watcher))
        {
            await Eventually(() => cache.Current.Count == 4, "the listed containers are cached");
            await Eventually(() => server.WatchRequests.Count >= 1, "a watch follows the list");

            FakeKubernetesApiServer.RecordedRequest list = server.ListRequests[0];
            Assert.Equal("spec.nodeName=" + Node, list.FieldSelector);
            Assert.Equal("Bearer " + FakeKubernetesApiServer.Token, list.Authorization);
            FakeKubernetesApiServer.RecordedRequest watch = server.WatchRequests[0];
            Assert.Equal("spec.nodeName=" + Node, watch.FieldSelector);
            Assert.Equal("100", watch.ResourceVersion);
            Assert.Equal("true", watch.AllowWatchBookmarks);

            AssertNamed(cache.Current[Hex('a')], "web-1", "shop", "nginx", ("app.kubernetes.io/name", "web"));
            AssertNamed(cache.Current[Hex('b')], "web-1", "shop", "sidecar", ("app.kubernetes.io/name", "web"));
            AssertNamed(cache.Current[Hex('c')], "invoices-0", "billing", "api", ("app.kubernetes.io/name", "invoices"));
            AssertNamed(cache.Current[Hex('d')], "invoices-0", "billing", "migrate", ("app.kubernetes.io/name", "invoices"));
            Assert.Equal(("invoices-0", "billing"), (cache.Pods["uid-invoices"].Name, cache.Pods["uid-invoices"].Namespace));
        }
    }

    [Fact]
    public async Task Watch_that_ends_is_reopened_from_the_last_seen_resource_version()
    {
        await using FakeKubernetesApiServer server = await FakeKubernetesApiServer.StartAsync();
        server.EnqueueList(List("100", Pod("shop", "web-1", "uid-web", "90", containers: [Container("nginx", "containerd://" + Hex('a'))])));
        server.EnqueueWatch(
            FakeKubernetesApiServer.Event("ADDED", Pod("shop", "web-2", "uid-web-2", "120", containers: [Container("nginx", "containerd://" + Hex('e'))])),
            FakeKubernetesApiServer.Bookmark("150"));

        (KubernetesPodWatcher watcher, PodMetadataCache cache) = Create(server);
        await using (Run(watcher))
        {
            await Eventually(() => server.WatchRequests.Count >= 2, "the watcher watches again after the stream ends");

            Assert.Equal(["100", "150"], server.WatchRequests.Take(2).Select(r => r.ResourceVersion));
            Assert.Single(server.ListRequests);
            Assert.Equal("web-2", cache.Current[Hex('e')].PodName);
            Assert.Equal("web-1", cache.Current[Hex('a')].PodName);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Expired_resource_version_leads_to_a_fresh_list(bool asErrorEvent)
    {
        await using FakeKubernetesApiServer server = await FakeKubernetesApiServer.StartAsync();
        server.EnqueueList(List("100", Pod("shop", "web-1", "uid-web", "90", containers: [Container("nginx", "containerd://" + Hex('a'))])));
        server.EnqueueList(List("200", Pod("billing", "api-1", "uid-api", "190", containers: [Container("api", "containerd://" + Hex('f'))])));
        if (asErrorEvent)
        {
            // The stream stays open after the ERROR event: the watcher must act on the event, not on the close.
            server.EnqueueWatch(async (response, aborted) =>
            {
                await FakeKubernetesApiServer.WriteLineAsync(response, FakeKubernetesApiServer.ErrorEvent(HttpStatusCode.Gone));
                await FakeKubernetesApiServer.HoldOpenAsync(aborted);
            });
        }
        else
        {
            server.EnqueueWatchStatus(HttpStatusCode.Gone);
        }

        (KubernetesPodWatcher watcher, PodMetadataCache cache) = Create(server);
        await using (Run(watcher))
        {
            await Eventually(() => cache.Current.ContainsKey(Hex('f')), "the relisted pod is cached");
            await Eventually(() => server.WatchRequests.Count >= 2, "a watch follows the relist");

            Assert.Equal(2, server.ListRequests.Count);
            Assert.False(cache.Current.ContainsKey(Hex('a')), "the relist replaces what the first list said");
            Assert.Equal("200", server.WatchRequests[1].ResourceVersion);
            Assert.Contains(logger.Collector.GetSnapshot(), e => e.Message.Contains("410 Gone", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Deleted_pod_leaves_the_cache_mid_run()
    {
        await using FakeKubernetesApiServer server = await FakeKubernetesApiServer.StartAsync();
        OtelPower.Agent.Kubernetes.Api.V1Pod web = Pod("shop", "web-1", "uid-web", "90", containers: [Container("nginx", "containerd://" + Hex('a'))]);
        server.EnqueueList(List("100", web, Pod("billing", "api-1", "uid-api", "95", containers: [Container("api", "containerd://" + Hex('b'))])));
        var deleteNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.EnqueueWatch(async (response, aborted) =>
        {
            await response.StartAsync(aborted);
            await deleteNow.Task.WaitAsync(aborted);
            web.Metadata!.ResourceVersion = "130";
            await FakeKubernetesApiServer.WriteLineAsync(response, FakeKubernetesApiServer.Event("DELETED", web));
            await FakeKubernetesApiServer.HoldOpenAsync(aborted);
        });

        (KubernetesPodWatcher watcher, PodMetadataCache cache) = Create(server);
        await using (Run(watcher))
        {
            await Eventually(() => cache.Current.Count == 2 && server.WatchRequests.Count == 1, "both pods are cached and watched");

            deleteNow.SetResult();

            await Eventually(() => !cache.Current.ContainsKey(Hex('a')), "the deleted pod's container leaves the cache");
            Assert.Equal("api-1", cache.Current[Hex('b')].PodName);
            Assert.False(cache.Pods.ContainsKey("uid-web"));
            Assert.Single(server.ListRequests);
        }
    }

    [Fact]
    public async Task Malformed_watch_lines_are_logged_and_skipped_and_the_watch_goes_on()
    {
        await using FakeKubernetesApiServer server = await FakeKubernetesApiServer.StartAsync();
        server.EnqueueList(List("100", Pod("shop", "web-1", "uid-web", "90", containers: [Container("nginx", "containerd://" + Hex('a'))])));
        server.EnqueueWatch(async (response, aborted) =>
        {
            await FakeKubernetesApiServer.WriteLineAsync(response, "this is not JSON");
            await FakeKubernetesApiServer.WriteLineAsync(response, """{"type":"ADDED"}""");
            await FakeKubernetesApiServer.WriteLineAsync(response, FakeKubernetesApiServer.Event("ADDED", Pod("shop", "web-2", "uid-web-2", "120", containers: [Container("nginx", "containerd://" + Hex('e'))])));
            await FakeKubernetesApiServer.HoldOpenAsync(aborted);
        });

        (KubernetesPodWatcher watcher, PodMetadataCache cache) = Create(server);
        await using (Run(watcher))
        {
            await Eventually(() => cache.Current.ContainsKey(Hex('e')), "the event after the bad lines is applied");

            Assert.Equal("web-1", cache.Current[Hex('a')].PodName);
            Assert.Equal(2, logger.Collector.GetSnapshot().Count(e => e.Message.Contains("could not be read", StringComparison.Ordinal)));
            Assert.Single(server.ListRequests);
            Assert.Single(server.WatchRequests);
            Assert.DoesNotContain(logger.Collector.GetSnapshot(), e => e.Level >= LogLevel.Warning);
        }
    }

    [Fact]
    public async Task Watch_cut_off_mid_line_is_reopened_from_the_last_whole_event()
    {
        await using FakeKubernetesApiServer server = await FakeKubernetesApiServer.StartAsync();
        server.EnqueueList(List("100", Pod("shop", "web-1", "uid-web", "90", containers: [Container("nginx", "containerd://" + Hex('a'))])));
        server.EnqueueWatch(async (response, _) =>
        {
            await FakeKubernetesApiServer.WriteLineAsync(response, FakeKubernetesApiServer.Event("ADDED", Pod("shop", "web-2", "uid-web-2", "120", containers: [Container("nginx", "containerd://" + Hex('e'))])));
            string cut = FakeKubernetesApiServer.Event("ADDED", Pod("shop", "web-3", "uid-web-3", "130", containers: [Container("nginx", "containerd://" + Hex('f'))]));
            await response.WriteAsync(cut[..(cut.Length / 2)]);
            await response.Body.FlushAsync();
        });

        (KubernetesPodWatcher watcher, PodMetadataCache cache) = Create(server);
        await using (Run(watcher))
        {
            await Eventually(() => server.WatchRequests.Count >= 2, "the watcher watches again after the cut");

            Assert.Equal(["100", "120"], server.WatchRequests.Take(2).Select(r => r.ResourceVersion));
            Assert.Single(server.ListRequests);
            Assert.Equal("web-2", cache.Current[Hex('e')].PodName);
            Assert.False(cache.Current.ContainsKey(Hex('f')), "half an event is not applied");
            Assert.Contains(logger.Collector.GetSnapshot(), e => e.Message.Contains("could not be read", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Connection_reset_mid_line_keeps_the_cache_and_lists_again()
    {
        await using FakeKubernetesApiServer server = await FakeKubernetesApiServer.StartAsync();
        server.EnqueueList(List("100", Pod("shop", "web-1", "uid-web", "90", containers: [Container("nginx", "containerd://" + Hex('a'))])));
        server.EnqueueWatch(async (response, _) =>
        {
            await response.WriteAsync("""{"type":"ADDED","object":{"metadata":{"uid":"uid-cut",""");
            await response.Body.FlushAsync();
            response.HttpContext.Abort();
        });

        (KubernetesPodWatcher watcher, PodMetadataCache cache) = Create(server);
        await using (Run(watcher))
        {
            await Eventually(() => server.ListRequests.Count >= 2, "the watcher lists again after the reset");

            Assert.Equal("web-1", cache.Current[Hex('a')].PodName);
            Assert.False(cache.Pods.ContainsKey("uid-cut"));
            Assert.False(watcher.ExecuteTask!.IsCompleted, "the watcher keeps going");
        }
    }

    [Fact]
    public async Task Pod_list_as_the_api_server_writes_it_is_read()
    {
        await using FakeKubernetesApiServer server = await FakeKubernetesApiServer.StartAsync();
        server.EnqueueListJson(ApiServerPodList);

        (KubernetesPodWatcher watcher, PodMetadataCache cache) = Create(server);
        await using (Run(watcher))
        {
            await Eventually(() => server.WatchRequests.Count >= 1, "a watch follows the list");

            Assert.Equal("4871", server.WatchRequests[0].ResourceVersion);
            AssertNamed(cache.Current[Hex('a')], "coredns-7db6d8ff4d-x2k9q", "kube-system", "coredns", ("app.kubernetes.io/name", "coredns"));
            Assert.Equal(["uid-coredns"], cache.Pods.Keys);
            Assert.Single(cache.Current);
        }
    }

    [Fact]
    public async Task Names_appear_once_an_unreachable_api_server_comes_up()
    {
        await using FakeKubernetesApiServer server = await FakeKubernetesApiServer.DownAsync();
        server.EnqueueList(List("100", Pod("shop", "web-1", "uid-web", "90", containers: [Container("nginx", "containerd://" + Hex('a'))])));

        (KubernetesPodWatcher watcher, PodMetadataCache cache) = Create(server);
        await using (Run(watcher))
        {
            await Eventually(() => logger.Collector.GetSnapshot().Any(e => e.Level == LogLevel.Warning && e.Message.Contains("unreachable", StringComparison.Ordinal)), "the refused connection is reported");
            Assert.Empty(cache.Current);
            Assert.False(watcher.ExecuteTask!.IsCompleted, "the watcher keeps trying");

            await server.ListenAsync();

            await Eventually(() => cache.Current.ContainsKey(Hex('a')), "names fill in when the API comes back");
            Assert.Equal("shop", cache.Current[Hex('a')].Namespace);
            await Eventually(() => logger.Collector.GetSnapshot().Any(e => e.Message.Contains("reachable again", StringComparison.Ordinal)), "the recovery is reported");
            int warnings = logger.Collector.GetSnapshot().Count(e => e.Level == LogLevel.Warning);
            Assert.Equal(1, warnings); // Retries every 100 ms are not each a warning.
        }
    }

    // Trimmed from `kubectl get pods -o json` of a kind cluster: the fields the agent does not read are kept
    // so that the reader is seen to skip them (timestamps, nested objects, numbers, booleans, nulls).
    private static readonly string ApiServerPodList = """
        {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"4871"},"items":[
        {"metadata":{"name":"coredns-7db6d8ff4d-x2k9q","generateName":"coredns-7db6d8ff4d-","namespace":"kube-system",
         "uid":"uid-coredns","resourceVersion":"4790","creationTimestamp":"2024-06-01T10:00:00Z",
         "labels":{"app.kubernetes.io/name":"coredns","k8s-app":"kube-dns","pod-template-hash":"7db6d8ff4d"},
         "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"coredns-7db6d8ff4d","uid":"rs","controller":true,"blockOwnerDeletion":true}],
         "managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","time":"2024-06-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{}}}]},
         "spec":{"volumes":[{"name":"config-volume","configMap":{"name":"coredns","items":[{"key":"Corefile","path":"Corefile"}],"defaultMode":420}}],
          "containers":[{"name":"coredns","image":"registry.k8s.io/coredns/coredns:v1.11.1","args":["-conf","/etc/coredns/Corefile"],
           "ports":[{"name":"dns","containerPort":53,"protocol":"UDP"}],"resources":{"limits":{"memory":"170Mi"},"requests":{"cpu":"100m"}}}],
          "restartPolicy":"Always","terminationGracePeriodSeconds":30,"nodeName":"node-a","priority":2000000000,"enableServiceLinks":true},
         "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2024-06-01T10:00:05Z"}],
          "hostIP":"172.18.0.2","podIP":"10.244.0.3","podIPs":[{"ip":"10.244.0.3"}],"startTime":"2024-06-01T10:00:00Z",
          "containerStatuses":[{"name":"coredns","state":{"running":{"startedAt":"2024-06-01T10:00:02Z"}},"lastState":{},"ready":true,"restartCount":0,
           "image":"registry.k8s.io/coredns/coredns:v1.11.1","imageID":"sha256:cbb01a","containerID":"containerd://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","started":true}],
          "qosClass":"Burstable"}}]}
        """;

    // ContainerMetadata is a record, but its label dictionary compares by reference: compare the parts.
    private static void AssertNamed(ContainerMetadata actual, string pod, string ns, string container, params (string Key, string Value)[] labels)
    {
        Assert.Equal((pod, ns, container), (actual.PodName, actual.Namespace, actual.ContainerName));
        Assert.Equal(labels.Select(l => (KubernetesOptions.PodLabelAttributePrefix + l.Key, l.Value)), actual.Labels.Select(l => (l.Key, l.Value)));
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Not within {WaitLimit.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s: {what}.");
            }

            await Task.Delay(20);
        }
    }

    private static RunningWatcher Run(KubernetesPodWatcher watcher)
    {
        watcher.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return new RunningWatcher(watcher);
    }

    private (KubernetesPodWatcher Watcher, PodMetadataCache Cache) Create(FakeKubernetesApiServer server)
    {
        string kubeconfig = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {server.BaseAddress}
            users:
            - name: fake
              user:
                token: {FakeKubernetesApiServer.Token}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fake
            current-context: fake
            """);
        var options = new KubernetesOptions
        {
            Enabled = true,
            NodeName = Node,
            KubeconfigPath = kubeconfig,
            PodLabels = ["app.kubernetes.io/name"],
            ResyncBackoff = TimeSpan.FromMilliseconds(100),
        };
        var cache = new PodMetadataCache(options.PodLabels);
        return (new KubernetesPodWatcher(Options.Create(options), cache, TimeProvider.System, logger), cache);
    }

    /// <summary>Stops the watcher and checks that it stopped promptly and without a fault.</summary>
    private sealed class RunningWatcher(KubernetesPodWatcher watcher) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            using var limit = new CancellationTokenSource(WaitLimit);
            await watcher.StopAsync(limit.Token);
            Task executed = watcher.ExecuteTask!;
            await executed.WaitAsync(WaitLimit);
            Assert.True(executed.IsCompletedSuccessfully, "the watcher ends cleanly on shutdown");
            watcher.Dispose();
        }
    }
}
