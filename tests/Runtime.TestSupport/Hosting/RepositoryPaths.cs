namespace Runtime.TestSupport.Hosting;

/// <summary>Locates the repository checkout the tests run from.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The directory holding Runtime.sln.</summary>
    public static string Root => s_root.Value;

    public static string Combine(params string[] relative) => Path.Combine([Root, .. relative]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Runtime.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Runtime.sln above {AppContext.BaseDirectory}; tests must run from a checkout.");
    }
}
