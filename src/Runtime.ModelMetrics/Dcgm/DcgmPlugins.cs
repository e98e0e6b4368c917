using System.Text.Json;
using Microsoft.Extensions.Logging;
using Runtime.Endpoints;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;
using Runtime.Plugins.Values;

namespace Runtime.ModelMetrics.Dcgm;

/// <summary>A configured <c>dcgm-data-source</c>: where the DCGM exporter pages are and how often to read them.</summary>
internal sealed record DcgmDataSourcePlugin(string Name, DcgmDataSourceParameters Parameters) : IPlugin
{
    public string TypeName => BuiltInPlugins.DcgmDataSource;

    /// <summary>The configured interval, or null for the metrics refresh interval.</summary>
    public TimeSpan? Interval => Parameters.Interval is { Length: > 0 } text && GoDuration.TryParse(text, out var interval) ? interval : null;
}

/// <summary>A configured <c>dcgm-extractor</c> (no parameters): publishes <c>GPUUtilization/dcgm-extractor</c>.</summary>
internal sealed record DcgmExtractorPlugin(string Name) : IPlugin
{
    public string TypeName => BuiltInPlugins.DcgmExtractor;
}

/// <summary>The factories of the DCGM data source and extractor, and the scrapers the host runs for them.</summary>
internal static class DcgmPlugins
{
    public static PluginRegistryBuilder UseDcgmFactories(this PluginRegistryBuilder builder) => builder
        .UseFactory(BuiltInPlugins.DcgmDataSource, CreateSource)
        .UseFactory(BuiltInPlugins.DcgmExtractor, static (name, _, _) => PluginResult.Success(new DcgmExtractorPlugin(name)));

    /// <summary>
    /// One scraper per <c>dcgm-data-source</c> that the dataLayer section attaches a <c>dcgm-extractor</c> to
    /// (llm-d runs a source only for its extractors). <paramref name="sources"/> pairs each source's plugin
    /// name with its extractors' names.
    /// </summary>
    public static IReadOnlyList<DcgmScraper> CreateScrapers(
        EndpointStore store,
        IReadOnlyDictionary<string, IPlugin> plugins,
        IEnumerable<(string? Source, IEnumerable<string?> Extractors)> sources,
        TimeSpan refreshInterval,
        ILoggerFactory loggers)
    {
        var scrapers = new List<DcgmScraper>();
        foreach (var (source, extractors) in sources)
        {
            if (source is not null && plugins.TryGetValue(source, out var plugin) && plugin is DcgmDataSourcePlugin dcgm
                && extractors.Any(e => e is not null && plugins.TryGetValue(e, out var x) && x is DcgmExtractorPlugin))
            {
                scrapers.Add(new DcgmScraper(store, dcgm.Parameters, dcgm.Interval ?? refreshInterval, loggers));
            }
        }

        return scrapers;
    }

    private static PluginResult CreateSource(string name, JsonElement parameters, IPluginHandle handle)
    {
        var errors = new ValidationErrors();
        if (!BuiltInParameterBinders.DcgmDataSource.TryBind(parameters, "parameters", errors, out var bound) || bound is null)
        {
            return PluginResult.Failure(string.Join("; ", errors.Errors.Select(e => $"{e.Path}: {e.Message}")));
        }

        return PluginResult.Success(new DcgmDataSourcePlugin(name, bound));
    }
}
