using System.Diagnostics.Metrics;

namespace Runtime.Telemetry.Prometheus;

/// <summary>What the exporter listens to and how it buckets histograms.</summary>
internal sealed record PrometheusExporterOptions
{
    /// <summary>The meters to export; by default every meter whose name starts with <c>Runtime.</c>.</summary>
    public Func<Meter, bool> MeterFilter { get; init; } = static meter => meter.Name.StartsWith("Runtime.", StringComparison.Ordinal);

    /// <summary>
    /// Bucket boundaries per histogram; null (or a null answer) falls back to
    /// <see cref="HistogramBuckets.For(Instrument)"/>.
    /// </summary>
    public Func<Instrument, IReadOnlyList<double>?>? HistogramBuckets { get; init; }
}
