using YamlDotNet.RepresentationModel;

namespace OtelPower.Deployment.Tests;

/// <summary>The documents of otel-collector/k8s/*.yaml, kustomization.yaml aside.</summary>
internal static class KubernetesManifests
{
    public const string KustomizationFile = "kustomization.yaml";

    public static IEnumerable<string> Files() =>
        Directory.EnumerateFiles(YamlFiles.KubernetesFolder, "*.yaml")
            .Concat(Directory.EnumerateFiles(YamlFiles.KubernetesFolder, "*.yml"))
            .Where(p => Path.GetFileName(p) != KustomizationFile)
            .Order(StringComparer.Ordinal);

    public static IReadOnlyList<YamlMappingNode> All() =>
        Files().SelectMany(YamlFiles.LoadDocuments).OfType<YamlMappingNode>().ToList();

    public static IReadOnlyList<YamlMappingNode> OfKind(string kind) =>
        All().Where(d => d.Text("kind") == kind).ToList();

    public static YamlMappingNode Single(string kind) => Assert.Single(OfKind(kind));

    public static YamlNode Container(YamlMappingNode workload) =>
        Assert.Single(workload.Sequence("spec", "template", "spec", "containers"));
}
