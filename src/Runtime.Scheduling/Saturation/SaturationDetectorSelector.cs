using Runtime.Configuration.Model;
using Runtime.Endpoints;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Saturation;

namespace Runtime.Scheduling.Saturation;

/// <summary>The detector that gates dispatch and shedding, or why there is none.</summary>
internal sealed record SaturationDetectorSelection(ISaturationDetector? Detector, string? Error, MetricKinds RequiredMetrics)
{
    public bool IsValid => Detector is not null;
}

/// <summary>
/// Picks the configured saturation detector: <c>saturationDetector.pluginRef</c> when it names an active
/// detector plugin; otherwise a <c>utilization-detector</c> from the legacy inline thresholds, or with
/// defaults. (The loader already turns the legacy form into an injected plugin; the fallback covers
/// configurations built without it.)
/// </summary>
internal static class SaturationDetectorSelector
{
    public static SaturationDetectorSelection Select(EndpointPickerConfig effectiveConfig, IReadOnlyDictionary<string, IPlugin> plugins, EndpointStore store, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(effectiveConfig);
        ArgumentNullException.ThrowIfNull(plugins);
        ArgumentNullException.ThrowIfNull(store);
        var config = effectiveConfig.SaturationDetector;
        if (config?.PluginRef is { Length: > 0 } reference && plugins.TryGetValue(reference, out var plugin))
        {
            return plugin is ISaturationDetector detector
                ? new SaturationDetectorSelection(detector, null, (plugin as IMetricsConsumer)?.RequiredMetrics ?? MetricKinds.None)
                : new SaturationDetectorSelection(null, $"saturationDetector.pluginRef: \"{reference}\" ({plugin.TypeName}) is not a saturation detector", MetricKinds.None);
        }

        if (config?.PluginRef is { Length: > 0 } missing && !IsDefaultName(missing))
        {
            return new SaturationDetectorSelection(null, $"saturationDetector.pluginRef: \"{missing}\" is not an active plugin", MetricKinds.None);
        }

        var parameters = new UtilizationDetectorParameters
        {
            QueueDepthThreshold = config?.QueueDepthThreshold,
            KvCacheUtilThreshold = config?.KvCacheUtilThreshold,
            MetricsStalenessThreshold = config?.MetricsStalenessThreshold,
        };
        var fallback = new UtilizationDetector(Runtime.Plugins.BuiltIn.BuiltInPlugins.UtilizationDetector, parameters, store, time ?? TimeProvider.System);
        return new SaturationDetectorSelection(fallback, null, fallback.RequiredMetrics);
    }

    private static bool IsDefaultName(string name) => name == Runtime.Plugins.BuiltIn.BuiltInPlugins.UtilizationDetector;
}
