using System.Reflection;

namespace Runtime.Telemetry.Labels;

/// <summary>
/// The <c>commit</c> and <c>build_ref</c> labels of the <c>*_info</c> families, from the assembly's
/// informational version (<c>&lt;version&gt;+&lt;commit&gt;</c>, which the SDK stamps from git).
/// </summary>
internal static class BuildInfo
{
    private static readonly (string Commit, string BuildRef) s_info = Read();

    /// <summary>The git commit the binary was built from, or empty when the build did not record one.</summary>
    public static string Commit => s_info.Commit;

    /// <summary>The version the binary was built as (GIE puts its git ref here).</summary>
    public static string BuildRef => s_info.BuildRef;

    private static (string, string) Read()
    {
        var version = typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? string.Empty;
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? (string.Empty, version) : (version[(plus + 1)..], version[..plus]);
    }
}
