namespace OtelPower.Deployment.Tests;

public sealed class YamlSyntaxTests
{
    public static TheoryData<string> YamlFilesUnderCollectorFolder()
    {
        var data = new TheoryData<string>();
        foreach (var path in YamlFiles.AllUnderCollectorFolder())
        {
            data.Add(Path.GetRelativePath(RepositoryRoot.Path, path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(YamlFilesUnderCollectorFolder))]
    public void Every_yaml_file_parses(string relativePath)
    {
        var documents = YamlFiles.LoadDocuments(Path.Combine(RepositoryRoot.Path, relativePath));

        Assert.NotEmpty(documents);
    }

    [Fact]
    public void There_are_yaml_files_to_check()
    {
        Assert.True(YamlFiles.AllUnderCollectorFolder().Count() >= 10);
    }

    [Fact]
    public void Multi_document_files_yield_every_document()
    {
        using var reader = new StringReader("a: 1\n---\nb: 2\n---\nc: 3\n");

        Assert.Equal(3, YamlFiles.ParseDocuments(reader).Count);
    }

    [Fact]
    public void Invalid_yaml_is_rejected()
    {
        using var reader = new StringReader("a: b: c\n");

        Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => YamlFiles.ParseDocuments(reader));
    }
}
