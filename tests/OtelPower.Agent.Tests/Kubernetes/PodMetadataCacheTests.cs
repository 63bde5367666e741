using OtelPower.Agent.Kubernetes;
using OtelPower.Attribution;
using static OtelPower.Agent.Tests.Kubernetes.PodFixtures;

namespace OtelPower.Agent.Tests.Kubernetes;

public class PodMetadataCacheTests
{
    [Theory]
    [InlineData("containerd://abc123", "abc123")]
    [InlineData("cri-o://abc123", "abc123")]
    [InlineData("docker://abc123", "abc123")]
    [InlineData("  containerd://ABC123 ", "abc123")]
    [InlineData("abc123", "abc123")]
    public void Container_id_loses_its_runtime_prefix(string containerId, string expected)
    {
        Assert.True(PodMetadataCache.TryParseContainerId(containerId, out string id));
        Assert.Equal(expected, id);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("containerd://")]
    public void Container_not_yet_created_has_no_id(string? containerId) =>
        Assert.False(PodMetadataCache.TryParseContainerId(containerId, out _));

    [Fact]
    public void Init_ephemeral_and_app_containers_are_all_named()
    {
        var cache = new PodMetadataCache(["app.kubernetes.io/name"]);
        cache.Replace([Pod("shop", "web-1", "uid-1", "1",
            labels: new Dictionary<string, string> { ["app.kubernetes.io/name"] = "web", ["pod-template-hash"] = "x" },
            containers: [Container("app", "containerd://" + Hex('a')), Container("pending", null)],
            initContainers: [Container("migrate", "containerd://" + Hex('b'))],
            ephemeralContainers: [Container("debugger", "containerd://" + Hex('c'))])]);

        Assert.Equal(3, cache.Current.Count);
        Assert.Equal("app", cache.Current[Hex('a')].ContainerName);
        Assert.Equal("migrate", cache.Current[Hex('b')].ContainerName);
        Assert.Equal("debugger", cache.Current[Hex('c')].ContainerName);
        ContainerMetadata app = cache.Current[Hex('a')];
        Assert.Equal(("web-1", "shop"), (app.PodName, app.Namespace));
        Assert.Equal(new Dictionary<string, string> { ["k8s.pod.label.app.kubernetes.io/name"] = "web" }, app.Labels);
        Assert.Equal("web-1", cache.Pods["uid-1"].Name);
    }

    [Fact]
    public void Restarted_container_replaces_its_old_id()
    {
        var cache = new PodMetadataCache([]);
        cache.Upsert(Pod("shop", "web-1", "uid-1", "1", containers: [Container("app", "containerd://" + Hex('a'))]));
        cache.Upsert(Pod("shop", "web-1", "uid-1", "2", containers: [Container("app", "containerd://" + Hex('d'))]));

        Assert.Equal([Hex('d')], cache.Current.Keys);
        Assert.Empty(cache.Current[Hex('d')].Labels);
    }

    [Fact]
    public void Removed_pod_takes_its_containers_and_leaves_others()
    {
        var cache = new PodMetadataCache([]);
        cache.Replace([
            Pod("shop", "web-1", "uid-1", "1", containers: [Container("app", "containerd://" + Hex('a'))]),
            Pod("billing", "api-1", "uid-2", "1", containers: [Container("api", "cri-o://" + Hex('b'))]),
        ]);
        var before = cache.Current;

        cache.Remove(Pod("shop", "web-1", "uid-1", "2"));

        Assert.Equal([Hex('b')], cache.Current.Keys);
        Assert.Equal(["uid-2"], cache.Pods.Keys);
        Assert.Equal(2, before.Count); // A reader's snapshot does not change under it.
    }
}
