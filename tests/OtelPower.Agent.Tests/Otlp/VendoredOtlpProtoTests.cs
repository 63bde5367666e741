using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OtelPower.Deployment.Tests;

namespace OtelPower.Agent.Tests.Otlp;

/// <summary>
/// The receiver decodes with upstream's opentelemetry-proto files, vendored unchanged (issue 13):
/// tests/third_party/opentelemetry-proto holds them, VERSION names the commit, UPSTREAM-BLOBS the git blob
/// id upstream's tree has for each file at that commit.
/// </summary>
public sealed partial class VendoredOtlpProtoTests
{
    private static readonly string Folder = RepositoryRoot.Combine("tests", "third_party", "opentelemetry-proto");

    [Fact]
    public void Every_vendored_file_is_the_upstream_blob_at_the_recorded_commit()
    {
        var version = File.ReadAllLines(Path.Combine(Folder, "VERSION"))
            .Select(line => line.Split(' ', 2))
            .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
        Assert.Matches(CommitId(), version["commit"]);
        Assert.StartsWith("v", version["tag"], StringComparison.Ordinal);

        var lines = File.ReadAllLines(Path.Combine(Folder, "UPSTREAM-BLOBS"));
        Assert.StartsWith($"# git ls-tree -r {version["commit"]} -- ", lines[0], StringComparison.Ordinal);
        var blobs = lines.Skip(1).Select(line => LsTreeLine().Match(line)).ToArray();
        Assert.All(blobs, match => Assert.True(match.Success, $"not a git ls-tree line: {match.Value}"));
        Assert.All(blobs, match => Assert.Equal(match.Groups["blob"].Value, GitBlobId(Path.Combine(Folder, match.Groups["path"].Value))));

        // Nothing beside them that upstream does not have (a hand-written .proto would be decoded too).
        var listed = blobs.Select(match => match.Groups["path"].Value).Order(StringComparer.Ordinal);
        var present = Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories)
            .Select(file => Path.GetRelativePath(Folder, file).Replace('\\', '/'))
            .Where(path => path is not ("VERSION" or "UPSTREAM-BLOBS" or "README.md"))
            .Order(StringComparer.Ordinal);
        Assert.Equal(listed, present);
    }

    [Fact]
    public void The_decoder_is_generated_from_the_vendored_files_whole()
    {
        // The generated code's descriptors name the files they came from, by their paths under the ProtoRoot.
        var request = ExportMetricsServiceRequest.Descriptor.File;
        Assert.Equal("opentelemetry/proto/collector/metrics/v1/metrics_service.proto", request.Name);
        var imported = Closure(request).Select(file => file.Name).Order(StringComparer.Ordinal);
        var vendored = Directory.EnumerateFiles(Folder, "*.proto", SearchOption.AllDirectories)
            .Select(file => Path.GetRelativePath(Folder, file).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
        Assert.Equal(vendored, imported);

        // Every message metrics.proto declares is decoded, not a subset: histograms and summaries included.
        var declared = TopLevelMessage().Matches(File.ReadAllText(Path.Combine(Folder, "opentelemetry", "proto", "metrics", "v1", "metrics.proto")))
            .Select(match => match.Groups[1].Value);
        var generated = Metric.Descriptor.File.MessageTypes.Select(message => message.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(declared, name => Assert.Contains(name, generated));
        Assert.Contains("Histogram", generated);
        Assert.NotNull(Metric.Descriptor.FindFieldByName("exponential_histogram"));
    }

    private static IEnumerable<Google.Protobuf.Reflection.FileDescriptor> Closure(Google.Protobuf.Reflection.FileDescriptor file) =>
        file.Dependencies.SelectMany(Closure).Prepend(file).DistinctBy(f => f.Name);

    // Git names a file's content by SHA-1 over "blob <length>\0<bytes>": the id git ls-tree prints.
    private static string GitBlobId(string path)
    {
        var content = File.ReadAllBytes(path);
        var header = Encoding.ASCII.GetBytes($"blob {content.Length}\0");
#pragma warning disable CA5350 // SHA-1 is what git's object ids are, not a security measure here.
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. content]));
#pragma warning restore CA5350
    }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitId();

    [GeneratedRegex(@"^100644 blob (?<blob>[0-9a-f]{40})\t(?<path>\S+)$")]
    private static partial Regex LsTreeLine();

    [GeneratedRegex(@"^message (\w+) \{", RegexOptions.Multiline)]
    private static partial Regex TopLevelMessage();
}
