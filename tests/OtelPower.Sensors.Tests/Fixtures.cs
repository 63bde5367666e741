using OtelPower.Testing;

namespace OtelPower.Sensors.Tests;

/// <summary>The checked-in fixture trees under tests/fixtures, copied to a temporary directory so a test may change them.</summary>
internal sealed class FixtureCopy : IDisposable
{
    public FixtureCopy(string fixtureName)
    {
        Root = Path.Combine(Path.GetTempPath(), "otelpower-fixture-" + Guid.NewGuid().ToString("N"));
        DirectoryTree.Copy(new DirectoryInfo(Path.Combine(FixturesDirectory, fixtureName)), Root);
    }

    public static string FixturesDirectory => Deployment.Tests.RepositoryRoot.Combine("tests", "fixtures");

    public string Root { get; }

    public string Procfs => Path.Combine(Root, "proc");

    public string Sysfs => Path.Combine(Root, "sys");

    public string Path_(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Copies another fixture tree over this one (a host's /proc with a chip's /sys/class/hwmon).</summary>
    public void Overlay(string fixtureName) => DirectoryTree.Copy(new DirectoryInfo(Path.Combine(FixturesDirectory, fixtureName)), Root);

    public void Write(string relativePath, string contents) => File.WriteAllText(Path.Combine(Root, relativePath), contents);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
