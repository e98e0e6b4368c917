namespace Runtime.ControlPlane.Manifests;

/// <summary>
/// A cheap fingerprint of a manifest directory: every top-level entry's name, where a symlink
/// points, and the size and write time of what a manifest name resolves to. An atomic rename, an
/// in-place write and a ConfigMap volume's <c>..data</c> swap all change it; an event that changed
/// nothing (a touch of an unrelated dot-file's parent, a watcher echo) does not trigger a reload.
/// </summary>
internal static class DirectoryStamp
{
    public const string Missing = "\0missing";

    public static string Compute(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return Missing;
        }

        var parts = new List<string>();
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", SearchOption.TopDirectoryOnly))
        {
            // Dot entries count only as names and link targets: "..data -> ..2026_12_04_x" is what a swap changes.
            if (entry.Name.StartsWith('.'))
            {
                parts.Add($"{entry.Name}|{entry.LinkTarget}");
                continue;
            }

            FileSystemInfo target = entry;
            try
            {
                target = entry.ResolveLinkTarget(returnFinalTarget: true) ?? entry;
                target.Refresh();
            }
            catch (IOException)
            {
                // A link loop or a vanished target: the name alone still counts; the load reports the problem.
            }

            var length = target is FileInfo { Exists: true } file ? file.Length : -1;
            var written = target.Exists ? target.LastWriteTimeUtc.Ticks : 0;
            parts.Add($"{entry.Name}|{entry.LinkTarget}|{target.FullName}|{length}|{written}");
        }

        parts.Sort(StringComparer.Ordinal);
        return string.Join('\n', parts);
    }
}
