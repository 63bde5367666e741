namespace OtelPower.Deployment.Tests;

/// <summary>The kustomize overlay for GPU nodes (otel-collector/k8s-gpu) on top of the base manifests.</summary>
public sealed class GpuOverlayTests
{
    private static readonly string Folder = RepositoryRoot.Combine("otel-collector", "k8s-gpu");

    [Fact]
    public void The_overlay_builds_on_the_base_and_patches_only_the_agent_daemonset()
    {
        var kustomization = YamlFiles.LoadSingleMapping(Path.Combine(Folder, "kustomization.yaml"));

        Assert.Equal(["../k8s"], kustomization.Texts("resources"));
        var patch = Assert.Single(kustomization.Sequence("patches"));
        Assert.Equal("DaemonSet", patch.Text("target", "kind"));
        Assert.Equal("otelpower-agent", patch.Text("target", "name"));
        Assert.True(File.Exists(Path.Combine(Folder, patch.Text("path")!)));
        var daemonSet = KubernetesManifests.Single("DaemonSet");
        Assert.Equal(daemonSet.Text("metadata", "name"), patch.Text("target", "name"));
    }

    [Fact]
    public void Gpu_nodes_get_the_nvidia_runtime_class_all_gpus_and_the_utility_capability_only()
    {
        var patch = YamlFiles.LoadSingleMapping(Path.Combine(Folder, "agent-gpu-patch.yaml"));

        Assert.Equal("nvidia", patch.Text("spec", "template", "spec", "runtimeClassName"));
        var container = Assert.Single(patch.Sequence("spec", "template", "spec", "containers"));
        Assert.Equal(KubernetesManifests.Kustomize.AgentContainer.Text("name"), container.Text("name"));
        var env = container.Sequence("env").ToDictionary(e => e.Text("name")!, e => e.Text("value"));
        Assert.Equal("all", env["NVIDIA_VISIBLE_DEVICES"]);
        Assert.Equal("utility", env["NVIDIA_DRIVER_CAPABILITIES"]); // NVML only: no compute, no video
        Assert.Equal(2, env.Count);
    }
}
