using System.Diagnostics;
using System.Diagnostics.Metrics;
using Runtime.Plugins;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Scheduling.Framework;

/// <summary>
/// The scheduler's plugin and prefix-index families under GIE v1.5.0's names
/// (<c>inference_extension_plugin_duration_seconds</c>, <c>inference_extension_prefix_indexer_*</c>)
/// and their llm-d v0.10 twins (<c>llm_d_epp_*</c>; the prefix ones labelled with the plugin).
/// </summary>
/// <remarks>
/// Process-wide, like Go's registry: schedulers are rebuilt from configuration and share these
/// instruments. Recording is allocation-free (three string tags at most; <c>SchedulingBenchmark</c>).
/// </remarks>
internal static class SchedulingMetrics
{
    public const string MeterName = "Runtime.Scheduling";

    /// <summary>GIE's extension point names.</summary>
    public const string Filter = "Filter";

    public const string Scorer = "Scorer";

    public const string Picker = "Picker";

    public const string PreRequest = "PreRequest";

    private const string Alpha = "[ALPHA] ";
    private const string PluginHelp = Alpha + "Plugin processing latency distribution in seconds for each extension point, plugin type and plugin name.";

    private static readonly Meter s_meter = new(MeterName);

    private static readonly Histogram<double> s_pluginDuration = s_meter.CreateHistogram(
        "inference_extension_plugin_duration_seconds", unit: null, PluginHelp, tags: null, HistogramBuckets.Advice(HistogramBuckets.SchedulingSeconds));

    private static readonly Histogram<double> s_llmdPluginDuration = s_meter.CreateHistogram(
        "llm_d_epp_plugin_duration_seconds", unit: null, PluginHelp, tags: null, HistogramBuckets.Advice(HistogramBuckets.SchedulingSeconds));

    private static readonly Gauge<long> s_indexerSize = s_meter.CreateGauge<long>("inference_extension_prefix_indexer_size", unit: null, Alpha + "Size of the prefix indexer.");

    private static readonly Gauge<long> s_llmdIndexerSize = s_meter.CreateGauge<long>("llm_d_epp_prefix_indexer_size", unit: null, Alpha + "Size of the prefix indexer.");

    private static readonly Histogram<double> s_hitRatio = s_meter.CreateHistogram(
        "inference_extension_prefix_indexer_hit_ratio", unit: null, Alpha + "Ratio of prefix length matched to total prefix length in the cache lookup.", tags: null, HistogramBuckets.Advice(HistogramBuckets.HitRatio));

    private static readonly Histogram<double> s_llmdHitRatio = s_meter.CreateHistogram(
        "llm_d_epp_prefix_indexer_hit_ratio", unit: null, Alpha + "Ratio of prefix length matched to total prefix length in the cache lookup.", tags: null, HistogramBuckets.Advice(HistogramBuckets.HitRatio));

    private static readonly Histogram<double> s_hitBytes = s_meter.CreateHistogram(
        "inference_extension_prefix_indexer_hit_bytes", unit: null, Alpha + "Length of the prefix match in number of bytes in the cache lookup.", tags: null, HistogramBuckets.Advice(HistogramBuckets.HitBytes));

    private static readonly Histogram<double> s_llmdHitBytes = s_meter.CreateHistogram(
        "llm_d_epp_prefix_indexer_hit_bytes", unit: null, Alpha + "Length of the prefix match in number of bytes in the cache lookup.", tags: null, HistogramBuckets.Advice(HistogramBuckets.HitBytes));

    /// <summary>Records how long <paramref name="plugin"/> ran at <paramref name="extensionPoint"/>, since <paramref name="startedTimestamp"/>.</summary>
    public static void PluginRan(string extensionPoint, IPlugin plugin, long startedTimestamp)
    {
        var seconds = Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds;
        var point = new KeyValuePair<string, object?>("extension_point", extensionPoint);
        var type = new KeyValuePair<string, object?>("plugin_type", plugin.TypeName);
        var name = new KeyValuePair<string, object?>("plugin_name", plugin.Name);
        s_pluginDuration.Record(seconds, point, type, name);
        s_llmdPluginDuration.Record(seconds, point, type, name);
    }

    /// <summary>A prefix lookup matched <paramref name="matchedBytes"/> of <paramref name="totalBytes"/> (recorded only when there was a prefix).</summary>
    public static void PrefixMatched(IPlugin plugin, long matchedBytes, long totalBytes)
    {
        if (totalBytes <= 0)
        {
            return;
        }

        var ratio = (double)matchedBytes / totalBytes;
        var name = new KeyValuePair<string, object?>("plugin_name", plugin.Name);
        var type = new KeyValuePair<string, object?>("plugin_type", plugin.TypeName);
        s_hitRatio.Record(ratio);
        s_llmdHitRatio.Record(ratio, name, type);
        s_hitBytes.Record(matchedBytes);
        s_llmdHitBytes.Record(matchedBytes, name, type);
    }

    /// <summary>The prefix index of <paramref name="plugin"/> now holds <paramref name="entries"/> block entries.</summary>
    public static void PrefixIndexSize(IPlugin plugin, long entries)
    {
        s_indexerSize.Record(entries);
        s_llmdIndexerSize.Record(entries, new KeyValuePair<string, object?>("plugin_name", plugin.Name), new KeyValuePair<string, object?>("plugin_type", plugin.TypeName));
    }
}
