namespace OtelPower.Deployment.Tests;

public sealed class DockerfileTests
{
    private static readonly string[] Lines = File.ReadAllLines(RepositoryRoot.Combine("Dockerfile"))
        .Select(l => l.Trim())
        .Where(l => l.Length > 0 && !l.StartsWith('#'))
        .ToArray();

    [Fact]
    public void Builds_with_the_sdk_and_runs_on_the_runtime_image()
    {
        var stages = Lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();

        Assert.Equal(2, stages.Count);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build", stages[0], StringComparison.Ordinal);
        Assert.Matches(@"^FROM mcr\.microsoft\.com/dotnet/runtime(-deps)?:10\.0", stages[1]);
        Assert.Contains(Lines, l => l.StartsWith("COPY --from=build", StringComparison.Ordinal));
    }

    [Fact]
    public void Publishes_the_agent()
    {
        Assert.Contains(Lines, l => l.StartsWith("RUN dotnet publish src/OtelPower.Agent", StringComparison.Ordinal) && l.Contains("-c Release", StringComparison.Ordinal));
        Assert.Contains(Lines, l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal) && l.Contains("otelpower", StringComparison.Ordinal));
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
