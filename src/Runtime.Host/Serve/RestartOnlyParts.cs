using System.Text.Json;
using Runtime.Configuration.Loading;
using Runtime.Configuration.Model;

namespace Runtime.Host.Serve;

/// <summary>
/// The parts of an EndpointPickerConfig the process builds once at start, each as comparable text:
/// the feature gates and the data layer with the plugins it names. (The flowControl section and the
/// saturation detector apply live: <see cref="ConfigReloader"/>.)
/// </summary>
internal sealed record RestartOnlyParts(string Gates, string DataLayer)
{
    public static RestartOnlyParts Of(ConfigLoadResult loaded)
    {
        var config = loaded.Config!;
        return new RestartOnlyParts(
            string.Join(", ", loaded.FeatureGates?.EnabledGates ?? []),
            WithReferencedPlugins(config, new EndpointPickerConfig { DataLayer = config.DataLayer }));
    }

    /// <summary>What differs from <paramref name="next"/>, in words for the log.</summary>
    public IReadOnlyList<string> Differences(RestartOnlyParts next)
    {
        var parts = new List<string>();
        if (Gates != next.Gates)
        {
            parts.Add($"featureGates (running with [{Gates}], the file now enables [{next.Gates}])");
        }

        if (DataLayer != next.DataLayer)
        {
            parts.Add("dataLayer (metric sources and extractors, and their plugins' parameters)");
        }

        return parts;
    }

    /// <summary>The section as JSON, followed by every plugin spec whose name it mentions (a changed parameter of such a plugin is a change of the section).</summary>
    private static string WithReferencedPlugins(EndpointPickerConfig config, EndpointPickerConfig section)
    {
        var text = JsonSerializer.Serialize(section, ConfigJsonContext.Default.EndpointPickerConfig);
        var named = config.Plugins.Where(p => p.Name is { } name && text.Contains($"\"{JsonEncodedText.Encode(name)}\"", StringComparison.Ordinal)).ToList();
        return named.Count == 0 ? text : text + JsonSerializer.Serialize(new EndpointPickerConfig { Plugins = named }, ConfigJsonContext.Default.EndpointPickerConfig);
    }
}
