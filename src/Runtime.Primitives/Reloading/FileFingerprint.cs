namespace Runtime.Primitives.Reloading;

/// <summary>
/// Cheap fingerprints of files and directories for <see cref="ReloadableSource{T}"/>: names, where
/// symlinks point, and the size and write time of what each name resolves to, plus a hash of the
/// content of small files (write times are only as fine as the kernel's clock tick, so an edit that
/// keeps the size within a few milliseconds of the last write would otherwise go unseen). An atomic
/// rename, an in-place write and a ConfigMap or Secret volume's <c>..data</c> swap all move it; an
/// event that changed nothing (a watcher echo) does not.
/// </summary>
internal static class FileFingerprint
{
    /// <summary>The fingerprint of a directory or file that does not exist.</summary>
    public const string Missing = "\0missing";

    /// <summary>Configs, endpoint lists and certificates are small: hashing them costs microseconds per poll.</summary>
    private const long HashedUpTo = 1024 * 1024;

    /// <summary>
    /// Every top-level entry of <paramref name="directory"/>: name, link target, and for entries not
    /// starting with a dot the resolved target's size and write time. Dot entries count only as
    /// names and link targets: "..data -> ..2026_12_04_x" is what a volume swap changes.
    /// </summary>
    public static string OfDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return Missing;
        }

        var parts = new List<string>();
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", SearchOption.TopDirectoryOnly))
        {
            if (entry.Name.StartsWith('.'))
            {
                parts.Add($"{entry.Name}|{entry.LinkTarget}");
                continue;
            }

            parts.Add(Describe(entry));
        }

        parts.Sort(StringComparer.Ordinal);
        return string.Join('\n', parts);
    }

    /// <summary>The given files, each by link target, resolved path, size and write time (missing ones included as such).</summary>
    public static string OfFiles(params ReadOnlySpan<string> paths)
    {
        var parts = new string[paths.Length];
        for (var i = 0; i < paths.Length; i++)
        {
            var file = new FileInfo(paths[i]);
            parts[i] = file.Exists || file.LinkTarget is not null ? Describe(file) : paths[i] + Missing;
        }

        return string.Join('\n', parts);
    }

    private static string Describe(FileSystemInfo entry)
    {
        FileSystemInfo target = entry;
        try
        {
            target = entry.ResolveLinkTarget(returnFinalTarget: true) ?? entry;
            target.Refresh();
        }
        catch (IOException)
        {
            // A link loop or a vanished target: the name and link alone still count; the load reports the problem.
        }

        var length = target is FileInfo { Exists: true } file ? file.Length : -1;
        var written = target.Exists ? target.LastWriteTimeUtc.Ticks : 0;
        return $"{entry.Name}|{entry.LinkTarget}|{target.FullName}|{length}|{written}|{ContentHash(target.FullName, length)}";
    }

    private static string ContentHash(string path, long length)
    {
        if (length is < 0 or > HashedUpTo)
        {
            return string.Empty;
        }

        try
        {
            return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return string.Empty; // the load that follows reports why the file cannot be read
        }
    }
}
