using System.Diagnostics.Metrics;

namespace Runtime.Bbr;

/// <summary>
/// The Go body-based router's metrics (<c>bbr_success_total</c>,
/// <c>bbr_body_field_not_found_total</c>, <c>bbr_plugin_duration_seconds</c>) as
/// System.Diagnostics.Metrics instruments, exported once the metrics endpoint lands. Counts are
/// also readable here for tests and logs.
/// </summary>
public sealed class BbrMetrics : IDisposable
{
    private readonly Meter _meter = new("Runtime.Bbr");
    private readonly Histogram<double> _pluginDuration;
    private long _success;
    private long _fieldNotFound;

    public BbrMetrics()
    {
        _meter.CreateObservableCounter("bbr_success_total", () => Volatile.Read(ref _success), description: "Requests whose routing headers were set from the body.");
        _meter.CreateObservableCounter("bbr_body_field_not_found_total", () => Volatile.Read(ref _fieldNotFound), description: "Requests whose body lacked the routed field.");
        _pluginDuration = _meter.CreateHistogram<double>("bbr_plugin_duration_seconds", "s", "Time spent in each body-based routing processor.");
    }

    public long Success => Volatile.Read(ref _success);

    public long FieldNotFound => Volatile.Read(ref _fieldNotFound);

    internal void RecordSuccess() => Interlocked.Increment(ref _success);

    internal void RecordFieldNotFound() => Interlocked.Increment(ref _fieldNotFound);

    internal void RecordPluginDuration(string plugin, double seconds) =>
        _pluginDuration.Record(seconds, new KeyValuePair<string, object?>("plugin", plugin));

    public void Dispose() => _meter.Dispose();
}
