namespace OtelPower.Testing;

/// <summary>Copies of procfs/sysfs trees for tests.</summary>
public static class DirectoryTree
{
    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="destination"/>: directories and files, and symbolic links
    /// as links (a fixture's exe and device links point at paths that do not exist here).
    /// </summary>
    public static void Copy(DirectoryInfo source, string destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        Directory.CreateDirectory(destination);
        foreach (var entry in source.EnumerateFileSystemInfos())
        {
            var target = Path.Combine(destination, entry.Name);
            if (entry.LinkTarget is { } link)
            {
                File.CreateSymbolicLink(target, link);
            }
            else if (entry is DirectoryInfo directory)
            {
                Copy(directory, target);
            }
            else
            {
                File.Copy(entry.FullName, target);
            }
        }
    }
}
