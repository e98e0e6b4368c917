using Runtime.Configuration.Loading;
using Runtime.Plugins.Registry;

namespace Runtime.Host.Config;

/// <summary>Prints load results the same way for <c>runtime validate</c> and a refused <c>runtime serve</c>.</summary>
internal static class ConfigReport
{
    public static void WriteRegistrationErrors(PluginRegistryBuildResult build, TextWriter error)
    {
        foreach (var problem in build.Errors)
        {
            error.WriteLine($"invalid plugin registration: {problem}");
        }
    }

    /// <summary>One line per error, then the count (warnings, if any, follow the count).</summary>
    public static void WriteErrors(ConfigLoadResult result, TextWriter error)
    {
        foreach (var problem in result.Errors)
        {
            error.WriteLine(problem.Format(result.Source));
        }

        error.WriteLine($"{result.Source}: {Count(result.Errors.Count, "error")}");
    }

    public static void WriteWarnings(ConfigLoadResult result, TextWriter error)
    {
        foreach (var warning in result.Warnings)
        {
            error.WriteLine("warning: " + warning.Format(result.Source));
        }

        foreach (var use in result.DeprecatedPlugins)
        {
            error.WriteLine("warning: " + use.Location.Format(result.Source));
        }
    }

    public static string Count(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";
}
