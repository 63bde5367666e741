namespace OtelPower.Deployment.Tests;

/// <summary>The documents of otel-collector/k8s/*.yaml, kustomization.yaml aside.</summary>
internal static class KubernetesManifests
{
    public const string KustomizationFile = "kustomization.yaml";

    private static readonly Lazy<ManifestSet> Loaded = new(() =>
        new ManifestSet("kustomize (otel-collector/k8s)", Files().SelectMany(YamlFiles.LoadDocuments)));

    public static IEnumerable<string> Files() =>
        Directory.EnumerateFiles(YamlFiles.KubernetesFolder, "*.yaml")
            .Concat(Directory.EnumerateFiles(YamlFiles.KubernetesFolder, "*.yml"))
            .Where(p => Path.GetFileName(p) != KustomizationFile)
            .Order(StringComparer.Ordinal);

    public static ManifestSet Kustomize => Loaded.Value;

    public static YamlDotNet.RepresentationModel.YamlMappingNode Single(string kind) => Kustomize.Single(kind);
}
