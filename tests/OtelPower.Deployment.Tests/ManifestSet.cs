using YamlDotNet.RepresentationModel;

namespace OtelPower.Deployment.Tests;

/// <summary>The Kubernetes objects of one way of deploying: the kustomize folder, or one Helm render.</summary>
public sealed class ManifestSet
{
    public ManifestSet(string name, IEnumerable<YamlNode> documents)
    {
        Name = name;
        All = documents.OfType<YamlMappingNode>().ToList();
    }

    public string Name { get; }

    public IReadOnlyList<YamlMappingNode> All { get; }

    public IReadOnlyList<YamlMappingNode> OfKind(string kind) => All.Where(d => d.Text("kind") == kind).ToList();

    public YamlMappingNode Single(string kind) => Assert.Single(OfKind(kind));

    public YamlMappingNode? SingleOrNone(string kind) => OfKind(kind) switch
    {
        [] => null,
        [var one] => one,
        var many => throw new Xunit.Sdk.XunitException($"{Name}: {many.Count} objects of kind {kind}, expected at most one."),
    };

    public static YamlNode Container(YamlMappingNode workload) =>
        Assert.Single(workload.Sequence("spec", "template", "spec", "containers"));

    /// <summary>The agent's DaemonSet (the one workload with hostPID).</summary>
    public YamlMappingNode Agent => Single("DaemonSet");

    public YamlNode AgentContainer => Container(Agent);

    public List<string> AgentArgs => AgentContainer.Texts("args").ToList();

    /// <summary>The bundled collector's Deployment, when this deployment has one.</summary>
    public YamlMappingNode? Collector => SingleOrNone("Deployment");

    public static string? ArgumentAfter(IReadOnlyList<string> args, string flag)
    {
        var at = args.ToList().IndexOf(flag);
        return at >= 0 && at + 1 < args.Count ? args[at + 1] : null;
    }

    /// <summary>Every value that follows <paramref name="flag"/> (a repeatable option).</summary>
    public static IEnumerable<string> ArgumentsAfter(IReadOnlyList<string> args, string flag)
    {
        for (var i = 0; i + 1 < args.Count; i++)
        {
            if (args[i] == flag)
            {
                yield return args[i + 1];
            }
        }
    }

    public YamlNode? AgentEnv(string name) =>
        AgentContainer.Sequence("env").SingleOrDefault(e => e.Text("name") == name);

    public override string ToString() => Name;
}
