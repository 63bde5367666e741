namespace OtelPower.Deployment.Tests;

public sealed class KustomizationTests
{
    private static YamlDotNet.RepresentationModel.YamlMappingNode Kustomization =>
        YamlFiles.LoadSingleMapping(Path.Combine(YamlFiles.KubernetesFolder, KubernetesManifests.KustomizationFile));

    [Fact]
    public void Resources_are_exactly_the_manifest_files_of_the_folder()
    {
        var listed = Kustomization.Texts("resources").Order(StringComparer.Ordinal).ToList();
        var present = KubernetesManifests.Files().Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(present, listed);
        Assert.All(listed, f => Assert.True(File.Exists(Path.Combine(YamlFiles.KubernetesFolder, f)), $"{f} is listed but missing."));
    }

    [Fact]
    public void Every_manifest_file_holds_documents()
    {
        Assert.All(KubernetesManifests.Files(), file => Assert.NotEmpty(YamlFiles.LoadDocuments(file)));
    }

    [Fact]
    public void Is_a_kustomization_that_installs_into_the_agents_namespace()
    {
        var ns = KubernetesManifests.Single("Namespace");

        Assert.Equal("kustomize.config.k8s.io/v1beta1", Kustomization.Text("apiVersion"));
        Assert.Equal("Kustomization", Kustomization.Text("kind"));
        Assert.Equal(ns.Text("metadata", "name"), Kustomization.Text("namespace"));
    }

    [Fact]
    public void The_namespace_admits_the_agents_privileges()
    {
        var ns = KubernetesManifests.Single("Namespace");

        Assert.Equal("privileged", ns.Text("metadata", "labels", "pod-security.kubernetes.io/enforce"));
        Assert.All(
            KubernetesManifests.Kustomize.All.Where(d => d.At("metadata", "namespace") is not null),
            d => Assert.Equal(ns.Text("metadata", "name"), d.Text("metadata", "namespace")));
    }
}
