using System.Diagnostics.Metrics;

namespace Runtime.Telemetry.Prometheus;

/// <summary>How an instrument aggregates, by kind.</summary>
internal enum Aggregation
{
    /// <summary>Counter, UpDownCounter: add every measurement.</summary>
    Sum,

    /// <summary>Gauge: keep the last measurement.</summary>
    LastValue,

    /// <summary>Histogram: bucket counts, sum and count.</summary>
    Histogram,

    /// <summary>Observable instruments: the values reported by the callback at the last scrape.</summary>
    Observed,
}

/// <summary>What the exporter keeps for one enabled instrument (the listener's per-instrument state).</summary>
internal sealed class InstrumentState
{
    private readonly double[] _bounds;
    private Dictionary<string, double>? _observed;

    private InstrumentState(Instrument instrument, string name, PrometheusMetricType type, Aggregation aggregation, double[] bounds)
    {
        Instrument = instrument;
        Name = name;
        Type = type;
        Aggregation = aggregation;
        _bounds = bounds;
        Series = new SeriesTable(aggregation == Aggregation.Histogram ? bounds.Length + 1 : 0);
    }

    public Instrument Instrument { get; }

    public string Name { get; }

    public string Help => Instrument.Description ?? string.Empty;

    public PrometheusMetricType Type { get; }

    public Aggregation Aggregation { get; }

    /// <summary>Finite upper bounds, ascending (histograms only).</summary>
    public ReadOnlySpan<double> Bounds => _bounds;

    public SeriesTable Series { get; }

    public static InstrumentState? Create(Instrument instrument, Func<Instrument, IReadOnlyList<double>?>? bucketsFor)
    {
        var name = PrometheusText.MetricName(instrument.Name);
        var definition = instrument.GetType().IsGenericType ? instrument.GetType().GetGenericTypeDefinition() : null;
        (PrometheusMetricType Type, Aggregation Aggregation)? kind = definition switch
        {
            _ when definition == typeof(Counter<>) => (PrometheusMetricType.Counter, Aggregation.Sum),
            _ when definition == typeof(UpDownCounter<>) => (PrometheusMetricType.Gauge, Aggregation.Sum),
            _ when definition == typeof(Histogram<>) => (PrometheusMetricType.Histogram, Aggregation.Histogram),
            _ when definition == typeof(Gauge<>) => (PrometheusMetricType.Gauge, Aggregation.LastValue),
            _ when definition == typeof(ObservableCounter<>) => (PrometheusMetricType.Counter, Aggregation.Observed),
            _ when definition == typeof(ObservableUpDownCounter<>) => (PrometheusMetricType.Gauge, Aggregation.Observed),
            _ when definition == typeof(ObservableGauge<>) => (PrometheusMetricType.Gauge, Aggregation.Observed),
            _ => null,
        };
        if (kind is null)
        {
            return null;
        }

        double[] bounds = [];
        if (kind.Value.Aggregation == Aggregation.Histogram)
        {
            var chosen = bucketsFor?.Invoke(instrument) ?? HistogramBuckets.For(instrument);
            bounds = [.. chosen.Where(b => double.IsFinite(b)).Distinct().Order()];
        }

        return new InstrumentState(instrument, name, kind.Value.Type, kind.Value.Aggregation, bounds);
    }

    public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        switch (Aggregation)
        {
            case Aggregation.Sum:
                Series.GetOrAdd(tags).AddLong(value);
                break;
            default:
                Record((double)value, tags);
                break;
        }
    }

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        switch (Aggregation)
        {
            case Aggregation.Sum:
                Series.GetOrAdd(tags).AddDouble(value);
                break;
            case Aggregation.LastValue:
                Series.GetOrAdd(tags).SetDouble(value);
                break;
            case Aggregation.Histogram:
                if (!double.IsNaN(value))
                {
                    Series.GetOrAdd(tags).Observe(BucketOf(value), value);
                }

                break;
            case Aggregation.Observed:
                Observe(value, tags);
                break;
        }
    }

    /// <summary>Forgets the last scrape's observed values (observable instruments; scrape lock held).</summary>
    public void BeginObservation() => _observed?.Clear();

    /// <summary>The values observed in this scrape, by label body (observable instruments; scrape lock held).</summary>
    public IReadOnlyDictionary<string, double> Observed => _observed ?? (IReadOnlyDictionary<string, double>)new Dictionary<string, double>();

    private void Observe(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // Called only from RecordObservableInstruments, under the exporter's scrape lock.
        var labels = new KeyValuePair<string, string>[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            labels[i] = new(tags[i].Key, PrometheusText.LabelValue(tags[i].Value));
        }

        _observed ??= new Dictionary<string, double>(StringComparer.Ordinal);
        _observed[PrometheusText.LabelBody(labels)] = value;
    }

    private int BucketOf(double value)
    {
        // le is inclusive: the first bound >= value; past the last bound is the +Inf slot.
        var bounds = _bounds;
        if (bounds.Length <= 16)
        {
            for (var i = 0; i < bounds.Length; i++)
            {
                if (value <= bounds[i])
                {
                    return i;
                }
            }

            return bounds.Length;
        }

        var index = Array.BinarySearch(bounds, value);
        return index >= 0 ? index : ~index;
    }
}
