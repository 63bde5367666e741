using System.Text.Json;
using System.Xml.Linq;

namespace OtelPower.Deployment.Tests;

/// <summary>
/// What the image build depends on, checked against the repository rather than against fixed strings:
/// the SDK and runtime tags follow the target framework, every COPY source exists and is in the build
/// context, and the entrypoint runs the file the publish step writes.
/// </summary>
public sealed class DockerfileTests
{
    private static readonly string[] Lines = File.ReadAllLines(RepositoryRoot.Combine("Dockerfile"))
        .Select(l => l.Trim())
        .Where(l => l.Length > 0 && !l.StartsWith('#'))
        .ToArray();

    [Fact]
    public void Builds_with_the_sdk_and_runs_on_a_runtime_image_of_the_target_framework()
    {
        // net10.0 in Directory.Build.props: the sdk and runtime images must be 10.0, and the SDK global.json pins too.
        var framework = XDocument.Load(RepositoryRoot.Combine("Directory.Build.props")).Descendants("TargetFramework").Single().Value;
        var version = framework["net".Length..];
        using var globalJson = JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine("global.json")));
        Assert.StartsWith(version + ".", globalJson.RootElement.GetProperty("sdk").GetProperty("version").GetString(), StringComparison.Ordinal);

        var stages = Lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToList();
        Assert.Equal(2, stages.Count);
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:" + version, stages[0]);
        Assert.Matches($@"^mcr\.microsoft\.com/dotnet/(runtime|runtime-deps):{System.Text.RegularExpressions.Regex.Escape(version)}(-[a-z0-9.-]+)?$", stages[1]);
    }

    [Fact]
    public void The_entrypoint_runs_what_the_publish_step_writes()
    {
        var project = Lines.Single(l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal)).Split(' ');
        var projectPath = project[3];
        Assert.True(File.Exists(RepositoryRoot.Combine(projectPath)), $"publish names {projectPath}, which does not exist");
        Assert.Equal("Release", project[Array.IndexOf(project, "-c") + 1]);
        var publishedTo = project[Array.IndexOf(project, "-o") + 1];

        // The runtime stage copies from the publish folder (all of it, or named files in it), and the
        // entrypoint names the agent's executable there.
        var copy = Lines.Single(l => l.StartsWith("COPY --from=build ", StringComparison.Ordinal)).Split(' ');
        var sources = copy[2..^1];
        Assert.All(sources, source => Assert.True(
            source == publishedTo || source.StartsWith(publishedTo.TrimEnd('/') + "/", StringComparison.Ordinal),
            $"COPY takes {source}, which is not in the publish output {publishedTo}"));
        var workdir = Lines.Last(l => l.StartsWith("WORKDIR ", StringComparison.Ordinal))["WORKDIR ".Length..];
        var copiedTo = copy[^1] is "./" or "." ? workdir : copy[^1];
        var assembly = XDocument.Load(RepositoryRoot.Combine(projectPath)).Descendants("AssemblyName").Single().Value;
        using var entrypoint = JsonDocument.Parse(Lines.Single(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal))["ENTRYPOINT ".Length..]);
        var command = entrypoint.RootElement.EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Contains(command, c => c == $"{copiedTo.TrimEnd('/')}/{assembly}.dll" || c == $"{copiedTo.TrimEnd('/')}/{assembly}");
    }

    [Fact]
    public void Every_copied_source_exists_and_is_in_the_build_context()
    {
        var ignored = File.ReadAllLines(RepositoryRoot.Combine(".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var sources = Lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.StartsWith("COPY --from=", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1])
            .ToList();

        Assert.NotEmpty(sources);
        foreach (var source in sources)
        {
            var path = RepositoryRoot.Combine(source.TrimEnd('/'));
            Assert.True(File.Exists(path) || Directory.Exists(path), $"COPY {source}: no such file in the repository");
            Assert.DoesNotContain(ignored, pattern => pattern.TrimEnd('/') == source.TrimEnd('/') || pattern == Path.GetFileName(source.TrimEnd('/')));
        }
    }

    [Fact]
    public void Every_source_project_is_copied_before_restore()
    {
        // A new project under src/ that is not copied breaks the restore layer.
        var projects = Directory.EnumerateFiles(RepositoryRoot.Combine("src"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(RepositoryRoot.Path, p).Replace('\\', '/'));

        Assert.All(projects, p => Assert.Contains(Lines, l => l.StartsWith($"COPY {p} ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Runs_as_a_non_root_user_by_default()
    {
        var user = Lines.Last(l => l.StartsWith("USER ", StringComparison.Ordinal))["USER ".Length..].Trim();

        Assert.DoesNotContain(user, new[] { "0", "root", "0:0", "root:root" });
    }

    [Fact]
    public void The_build_context_keeps_the_sources_and_drops_build_output()
    {
        var ignored = File.ReadAllLines(RepositoryRoot.Combine(".dockerignore")).Select(l => l.Trim()).ToList();

        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
        Assert.DoesNotContain(ignored, l => l.TrimEnd('/') is "src" or "src/**");
        Assert.DoesNotContain(ignored, l => l is "global.json" or "Directory.Build.props" or "Directory.Packages.props");
    }
}
