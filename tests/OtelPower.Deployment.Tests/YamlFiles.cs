using YamlDotNet.RepresentationModel;

namespace OtelPower.Deployment.Tests;

/// <summary>Loads YAML files (every document of a multi-document file) and walks their nodes.</summary>
internal static class YamlFiles
{
    public static string CollectorFolder => RepositoryRoot.Combine("otel-collector");

    public static string KubernetesFolder => RepositoryRoot.Combine("otel-collector", "k8s");

    /// <summary>Every .yaml and .yml file under otel-collector/, k8s/ included.</summary>
    public static IEnumerable<string> AllUnderCollectorFolder() =>
        Directory.EnumerateFiles(CollectorFolder, "*.*", SearchOption.AllDirectories)
            .Where(p => p.EndsWith(".yaml", StringComparison.Ordinal) || p.EndsWith(".yml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    /// <summary>The collector configurations: otel-collector/config*.yaml.</summary>
    public static IEnumerable<string> CollectorConfigs() =>
        Directory.EnumerateFiles(CollectorFolder, "config*.yaml").Order(StringComparer.Ordinal);

    public static IReadOnlyList<YamlNode> LoadDocuments(string path)
    {
        using var reader = new StreamReader(path);
        return ParseDocuments(reader);
    }

    public static IReadOnlyList<YamlNode> ParseDocuments(TextReader reader)
    {
        var stream = new YamlStream();
        stream.Load(reader);
        return stream.Documents.Select(d => d.RootNode).ToList();
    }

    public static YamlMappingNode LoadSingleMapping(string path)
    {
        var documents = LoadDocuments(path);
        Assert.Single(documents);
        return Assert.IsType<YamlMappingNode>(documents[0]);
    }

    public static YamlNode? Child(this YamlNode node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static YamlNode? At(this YamlNode node, params string[] path)
    {
        YamlNode? current = node;
        foreach (var key in path)
        {
            current = current?.Child(key);
        }

        return current;
    }

    public static YamlMappingNode Mapping(this YamlNode node, params string[] path) =>
        Assert.IsType<YamlMappingNode>(node.At(path));

    public static IReadOnlyList<YamlNode> Sequence(this YamlNode node, params string[] path) =>
        node.At(path) is YamlSequenceNode sequence ? sequence.Children.ToList() : [];

    public static string? Text(this YamlNode node, params string[] path) => (node.At(path) as YamlScalarNode)?.Value;

    public static IEnumerable<string> Texts(this YamlNode node, params string[] path) =>
        node.Sequence(path).OfType<YamlScalarNode>().Select(s => s.Value ?? "");

    public static IEnumerable<string> Keys(this YamlNode node, params string[] path) =>
        node.At(path) is YamlMappingNode map ? map.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "") : [];
}
