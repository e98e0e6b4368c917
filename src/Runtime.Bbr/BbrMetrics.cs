using System.Diagnostics.Metrics;
using Runtime.Plugins;
using Runtime.Telemetry.Labels;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Bbr;

/// <summary>
/// The Go body-based router's metrics (GIE v1.5.0 <c>pkg/bbr/metrics</c>): <c>bbr_info</c>,
/// <c>bbr_success_total</c>, <c>bbr_body_field_not_found_total{field}</c>,
/// <c>bbr_body_field_empty_total{field}</c> and
/// <c>bbr_plugin_duration_seconds{extension_point,plugin_type,plugin_name}</c>, as
/// System.Diagnostics.Metrics instruments. Counts are also readable here for tests and logs.
/// </summary>
/// <remarks>Recording is allocation-free: string tags only, three at most.</remarks>
internal sealed class BbrMetrics : IDisposable
{
    /// <summary>The <c>extension_point</c> label values.</summary>
    public const string RequestExtensionPoint = "request";

    public const string ResponseExtensionPoint = "response";

    private const string Alpha = "[ALPHA] ";

    private readonly Meter _meter = new("Runtime.Bbr");
    private readonly Counter<long> _successCounter;
    private readonly Counter<long> _fieldNotFoundCounter;
    private readonly Counter<long> _fieldEmptyCounter;
    private readonly Histogram<double> _pluginDuration;
    private readonly Lock _infoLock = new();
    private bool _infoPublished;
    private long _success;
    private long _fieldNotFound;
    private long _fieldEmpty;

    public BbrMetrics()
    {
        _successCounter = _meter.CreateCounter<long>("bbr_success_total", description: Alpha + "Count of time the request was processed successfully.");
        _fieldNotFoundCounter = _meter.CreateCounter<long>("bbr_body_field_not_found_total", description: Alpha + "Count of times a field wasn't found in a request body.");
        _fieldEmptyCounter = _meter.CreateCounter<long>("bbr_body_field_empty_total", description: Alpha + "Count of times a field was found in a request body but was empty.");
        _pluginDuration = _meter.CreateHistogram(
            "bbr_plugin_duration_seconds",
            unit: null,
            Alpha + "Plugin processing latency distribution in seconds for each extension point, plugin type and plugin name.",
            tags: null,
            HistogramBuckets.Advice(HistogramBuckets.SchedulingSeconds));
    }

    public long Success => Volatile.Read(ref _success);

    public long FieldNotFound => Volatile.Read(ref _fieldNotFound);

    public long FieldEmpty => Volatile.Read(ref _fieldEmpty);

    /// <summary>
    /// Exports <c>bbr_info</c> (1, labelled with the build). Called when a router is actually served,
    /// so a picker that only shares this object does not claim to be a body-based router.
    /// </summary>
    public void PublishInfo()
    {
        lock (_infoLock)
        {
            if (_infoPublished)
            {
                return;
            }

            _infoPublished = true;
            _meter.CreateObservableGauge(
                "bbr_info",
                static () => new Measurement<int>(1, new KeyValuePair<string, object?>("commit", BuildInfo.Commit), new KeyValuePair<string, object?>("build_ref", BuildInfo.BuildRef)),
                description: Alpha + "General information of the current build of BBR.");
        }
    }

    internal void RecordSuccess()
    {
        Interlocked.Increment(ref _success);
        _successCounter.Add(1);
    }

    internal void RecordFieldNotFound(string field)
    {
        Interlocked.Increment(ref _fieldNotFound);
        _fieldNotFoundCounter.Add(1, new KeyValuePair<string, object?>("field", field));
    }

    internal void RecordFieldEmpty(string field)
    {
        Interlocked.Increment(ref _fieldEmpty);
        _fieldEmptyCounter.Add(1, new KeyValuePair<string, object?>("field", field));
    }

    internal void RecordPluginDuration(string extensionPoint, IPlugin plugin, double seconds) =>
        _pluginDuration.Record(
            seconds,
            new KeyValuePair<string, object?>("extension_point", extensionPoint),
            new KeyValuePair<string, object?>("plugin_type", plugin.TypeName),
            new KeyValuePair<string, object?>("plugin_name", plugin.Name));

    /// <summary>This instance's meter (tests export it alone).</summary>
    internal Meter Meter => _meter;

    public void Dispose() => _meter.Dispose();
}
