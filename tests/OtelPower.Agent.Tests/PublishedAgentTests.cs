using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using OtelPower.Deployment.Tests;
using OtelPower.Testing;

namespace OtelPower.Agent.Tests;

/// <summary>
/// What the README's install section and the Dockerfile ship: <c>dotnet publish src/OtelPower.Agent -c Release</c>
/// makes one Native AOT executable, without trimming or AOT warnings, that samples a host on its own. Takes a few
/// minutes (native compilation and linking with clang); <c>--filter Category!=Publish</c> leaves it out locally.
/// It runs alone, after the parallel tests, so two cores compiling do not slow their timed waits.
/// </summary>
[Collection(nameof(PublishedAgentTests))]
public sealed class PublishedAgentTests : IDisposable
{
    private static readonly TimeSpan PublishLimit = TimeSpan.FromMinutes(20);

    private readonly string _output = Directory.CreateTempSubdirectory("otelpower-aot-").FullName;

    public void Dispose() => Directory.Delete(_output, recursive: true);

    [Fact]
    [Trait("Category", "Publish")]
    public async Task Publish_makes_one_native_executable_that_samples_a_fixture_host()
    {
        var (publishCode, publishLog, publishErrors) = await RunAsync("dotnet", ["publish", RepositoryRoot.Combine("src", "OtelPower.Agent"), "-c", "Release", "-o", _output], PublishLimit);
        Assert.True(publishCode == 0, "dotnet publish failed (Native AOT needs clang and zlib1g-dev; .ci/run installs them):\n" + publishLog + publishErrors);
        Assert.DoesNotMatch(new Regex(@"warning [A-Z]+[0-9]{4}"), publishLog); // IL2026, IL3050, ...

        var files = Directory.GetFiles(_output).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "appsettings.json", "otelpower" }, files);

        var fixture = RepositoryRoot.Combine("tests", "fixtures", "two-socket");
        var (runCode, stdout, stderr) = await RunAsync(
            Path.Combine(_output, "otelpower"),
            ["--procfs", Path.Combine(fixture, "proc"), "--sysfs", Path.Combine(fixture, "sys"), "--cgroupfs", "", "--container-engines", "",
             "--interval", "0.1", "--samples", "2", "--exporter", "json"],
            TimeSpan.FromSeconds(30));
        Assert.True(runCode == 0, "the published agent failed:\n" + stderr);

        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, line =>
        {
            using var document = JsonDocument.Parse(line);
            Assert.Equal("rapl", document.RootElement.GetProperty("source").GetString());
            Assert.Equal(8, document.RootElement.GetProperty("zones").GetArrayLength());
        });

        await Process_series_leave_OpenSsl_unloaded(Path.Combine(_output, "otelpower"));
    }

    /// <summary>
    /// On a host whose processes use CPU, every scrape puts per-process series (with a <c>process.pid</c>)
    /// through the SDK, and a long or double attribute value there once loaded OpenSSL (about 3.7 MiB resident,
    /// for a random hash seed) into an agent that speaks plain HTTP. A host that stands still never showed it.
    /// </summary>
    private static async Task Process_series_leave_OpenSsl_unloaded(string executable)
    {
        using var directory = new TemporaryDirectory();
        var tree = new SyntheticHostTree(directory.Path);
        ulong package = 1_000_000, busy = 1_000, total = 10_000, web = 100;
        tree.WriteZone("intel-rapl:0", "package-0", package);
        tree.WriteCpu(busy, total - busy, cpuCount: 4);
        tree.WriteProcess(100, "web", web, startTicks: 10);

        await using var agent = AgentProcess.Start(
            ["--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", "", "--container-engines", "",
             "--interval", "0.1", "--exporter", "json,prometheus", "--prometheus-port", "0"],
            executable: executable);
        var port = await agent.PrometheusPortAsync();
        await agent.ReadLineAsync(TimeSpan.FromSeconds(30)); // the baseline is taken

        tree.BeginStep();
        tree.WriteEnergy("intel-rapl:0", package += 5_000_000);
        tree.WriteCpu(busy += 200, (total += 400) - busy, cpuCount: 4);
        tree.WriteProcess(100, "web", web += 200, startTicks: 10);
        tree.CommitStep();
        await agent.ReadUntilAsync(line => line.GetProperty("processes").GetArrayLength() > 0, "with the process's energy");

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        Assert.Contains("process_pid=\"100\"", metrics, StringComparison.Ordinal);

        var mappings = await File.ReadAllTextAsync($"/proc/{agent.Id}/maps");
        Assert.DoesNotContain("libcrypto", mappings, StringComparison.Ordinal);
        Assert.DoesNotContain("libssl", mappings, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string file, IEnumerable<string> arguments, TimeSpan limit)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} ran past {limit}:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}

[CollectionDefinition(nameof(PublishedAgentTests), DisableParallelization = true)]
public sealed class PublishedAgentCollection;
