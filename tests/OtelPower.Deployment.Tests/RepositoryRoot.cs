namespace OtelPower.Deployment.Tests;

/// <summary>The checkout the tests run from: the nearest folder above the test binaries holding OtelPower.sln.</summary>
public static class RepositoryRoot
{
    private static readonly Lazy<string> Root = new(Find);

    public static string Path => Root.Value;

    public static string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "OtelPower.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No OtelPower.sln above {AppContext.BaseDirectory}.");
    }
}
