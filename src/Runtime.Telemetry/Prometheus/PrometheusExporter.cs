using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Primitives.Diagnostics;

namespace Runtime.Telemetry.Prometheus;

/// <summary>
/// Listens to the process's <see cref="Meter"/>s, aggregates every measurement of the selected
/// instruments per tag set, and renders them (plus scrape-time families added with
/// <see cref="AddCollector"/>) in the Prometheus text exposition format 0.0.4.
/// </summary>
/// <remarks>
/// Recording runs on the request path: a measurement with a tag set already seen is a lock-free
/// table lookup and an interlocked add, with no allocation (<c>PrometheusRecordingBenchmark</c>).
/// Instruments published after the exporter starts are picked up as they appear; a disposed meter's
/// instruments vanish from the next scrape. Instruments of the same name (two meters of the same
/// name, say) render as one family, their series summed. A callback that throws (a collector or an
/// observable instrument) loses only its own samples: it is logged and counted in
/// <c>runtime_swallowed_errors_total{component="metrics"}</c> on the same page.
/// </remarks>
internal sealed class PrometheusExporter : IDisposable
{
    /// <summary>The <c>Content-Type</c> of <see cref="Render"/>'s output.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly PrometheusExporterOptions _options;
    private readonly ILogger _logger;
    private readonly MeterListener _listener;
    private readonly Lock _instrumentsLock = new();
    private readonly List<InstrumentState> _instruments = [];
    private readonly Lock _scrapeLock = new();
    private readonly List<Collector> _collectors = [];

    /// <param name="options">What to export; every <c>Runtime.*</c> meter by default.</param>
    /// <param name="logger">Where a scrape callback that throws is reported.</param>
    public PrometheusExporter(PrometheusExporterOptions? options = null, ILogger? logger = null)
    {
        _options = options ?? new PrometheusExporterOptions();
        _logger = logger ?? NullLogger.Instance;
        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = OnMeasurementsCompleted,
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((InstrumentState)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>
    /// Adds a family computed at each scrape (pool gauges, queue sizes, status flags): the callback
    /// writes its samples. Dispose the result to remove it.
    /// </summary>
    public IDisposable AddCollector(string name, string help, PrometheusMetricType type, Action<PrometheusSampleWriter> collect)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(collect);
        if (type == PrometheusMetricType.Histogram)
        {
            throw new ArgumentOutOfRangeException(nameof(type), "scrape-time families are counters or gauges");
        }

        var collector = new Collector(this, PrometheusText.MetricName(name), help ?? string.Empty, type, collect);
        lock (_scrapeLock)
        {
            _collectors.Add(collector);
        }

        return collector;
    }

    /// <summary>Collects observable instruments and scrape-time families and renders everything.</summary>
    public string Render()
    {
        var text = new StringBuilder(4096);
        lock (_scrapeLock)
        {
            // Scrape-time callbacks run before any instrument is read, so a failure they count
            // (runtime_swallowed_errors_total) is already on this page.
            var collected = new List<(Collector Collector, PrometheusSampleWriter Samples)>(_collectors.Count);
            foreach (var collector in _collectors)
            {
                var writer = new PrometheusSampleWriter();
                try
                {
                    collector.Collect(writer);
                }
#pragma warning disable CA1031 // One failing callback must not take the whole page down; it is logged and counted.
                catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
                {
                    SwallowedErrors.Report(_logger, LogLevel.Error, "metrics", "collector", $"the collector of {collector.Name} threw; its samples are missing from this scrape", ex);
                    continue;
                }

                collected.Add((collector, writer));
            }

            InstrumentState[] instruments;
            lock (_instrumentsLock)
            {
                instruments = [.. _instruments];
            }

            foreach (var state in instruments)
            {
                state.BeginObservation();
            }

            try
            {
                _listener.RecordObservableInstruments();
            }
            catch (AggregateException failures)
            {
                // The listener observes every instrument and then throws all their failures together.
                foreach (var ex in failures.InnerExceptions)
                {
                    SwallowedErrors.Report(_logger, LogLevel.Error, "metrics", "observable_instrument", "an observable instrument's callback threw; its samples are missing from this scrape", ex);
                }
            }

            var families = new SortedDictionary<string, Family>(StringComparer.Ordinal);
            foreach (var state in instruments)
            {
                var family = FamilyFor(families, state.Name, state.Help, state.Type);
                if (family.Type != state.Type)
                {
                    continue;
                }

                Collect(family, state);
            }

            foreach (var (collector, samples) in collected)
            {
                var family = FamilyFor(families, collector.Name, collector.Help, collector.Type);
                if (family.Type != collector.Type)
                {
                    continue;
                }

                foreach (var (labels, value) in samples.Samples)
                {
                    family.AddScalar(labels, value);
                }
            }

            foreach (var family in families.Values)
            {
                family.WriteTo(text);
            }
        }

        return text.ToString();
    }

    public void Dispose()
    {
        _listener.Dispose();
    }

    private static Family FamilyFor(SortedDictionary<string, Family> families, string name, string help, PrometheusMetricType type)
    {
        if (!families.TryGetValue(name, out var family))
        {
            family = new Family(name, help, type);
            families.Add(name, family);
        }

        return family;
    }

    private static void Collect(Family family, InstrumentState state)
    {
        switch (state.Aggregation)
        {
            case Aggregation.Observed:
                foreach (var (labels, value) in state.Observed)
                {
                    family.AddScalar(labels, value);
                }

                break;
            case Aggregation.Histogram:
                foreach (var series in state.Series.Snapshot())
                {
                    family.AddHistogram(series.LabelBody, state.Bounds, series.Buckets!, series.DoubleValue);
                }

                break;
            default:
                foreach (var series in state.Series.Snapshot())
                {
                    family.AddScalar(series.LabelBody, series.Value);
                }

                break;
        }
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!_options.MeterFilter(instrument.Meter))
        {
            return;
        }

        var state = InstrumentState.Create(instrument, _options.HistogramBuckets);
        if (state is null)
        {
            return;
        }

        lock (_instrumentsLock)
        {
            _instruments.Add(state);
        }

        listener.EnableMeasurementEvents(instrument, state);
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        if (state is InstrumentState instrumentState)
        {
            lock (_instrumentsLock)
            {
                _instruments.Remove(instrumentState);
            }
        }
    }

    private void Remove(Collector collector)
    {
        lock (_scrapeLock)
        {
            _collectors.Remove(collector);
        }
    }

    private sealed class Collector(PrometheusExporter owner, string name, string help, PrometheusMetricType type, Action<PrometheusSampleWriter> collect) : IDisposable
    {
        public string Name { get; } = name;

        public string Help { get; } = help;

        public PrometheusMetricType Type { get; } = type;

        public Action<PrometheusSampleWriter> Collect { get; } = collect;

        public void Dispose() => owner.Remove(this);
    }

    /// <summary>One family being rendered: its series by label body, merged across instruments of the same name.</summary>
    private sealed class Family(string name, string help, PrometheusMetricType type)
    {
        private readonly SortedDictionary<string, double> _scalars = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, HistogramSample> _histograms = new(StringComparer.Ordinal);

        public PrometheusMetricType Type { get; } = type;

        public void AddScalar(string labels, double value) =>
            _scalars[labels] = _scalars.TryGetValue(labels, out var existing) ? existing + value : value;

        public void AddHistogram(string labels, ReadOnlySpan<double> bounds, long[] buckets, double sum)
        {
            if (!_histograms.TryGetValue(labels, out var sample))
            {
                sample = new HistogramSample(bounds.ToArray());
                _histograms.Add(labels, sample);
            }
            else if (!sample.Bounds.AsSpan().SequenceEqual(bounds))
            {
                return;
            }

            for (var i = 0; i < buckets.Length; i++)
            {
                sample.Counts[i] += Volatile.Read(ref buckets[i]);
            }

            sample.Sum += sum;
        }

        public void WriteTo(StringBuilder text)
        {
            if (_scalars.Count == 0 && _histograms.Count == 0)
            {
                return;
            }

            text.Append("# HELP ").Append(name).Append(' ');
            PrometheusText.AppendEscaped(text, help, escapeQuotes: false);
            text.Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(Type switch
            {
                PrometheusMetricType.Counter => "counter",
                PrometheusMetricType.Gauge => "gauge",
                _ => "histogram",
            }).Append('\n');

            foreach (var (labels, value) in _scalars)
            {
                AppendSample(text, name, labels, null, value);
            }

            foreach (var (labels, sample) in _histograms)
            {
                long cumulative = 0;
                for (var i = 0; i < sample.Bounds.Length; i++)
                {
                    cumulative += sample.Counts[i];
                    AppendSample(text, name + "_bucket", labels, PrometheusText.FormatValue(sample.Bounds[i]), cumulative);
                }

                cumulative += sample.Counts[^1];
                AppendSample(text, name + "_bucket", labels, "+Inf", cumulative);
                AppendSample(text, name + "_sum", labels, null, sample.Sum);
                AppendSample(text, name + "_count", labels, null, cumulative);
            }
        }

        private static void AppendSample(StringBuilder text, string name, string labels, string? le, double value)
        {
            text.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                text.Append('{').Append(labels);
                if (le is not null)
                {
                    text.Append(labels.Length > 0 ? ",le=\"" : "le=\"").Append(le).Append('"');
                }

                text.Append('}');
            }

            text.Append(' ');
            PrometheusText.AppendValue(text, value);
            text.Append('\n');
        }
    }

    private sealed class HistogramSample(double[] bounds)
    {
        public double[] Bounds { get; } = bounds;

        public long[] Counts { get; } = new long[bounds.Length + 1];

        public double Sum { get; set; }
    }
}
