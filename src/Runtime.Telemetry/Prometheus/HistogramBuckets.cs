using System.Diagnostics.Metrics;

namespace Runtime.Telemetry.Prometheus;

/// <summary>Default histogram bucket boundaries, matching what the Go endpoint picker registers.</summary>
internal static class HistogramBuckets
{
    /// <summary>GIE's request-latency buckets (5 ms to one hour).</summary>
    public static IReadOnlyList<double> RequestSeconds { get; } =
    [
        0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
        120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600,
    ];

    /// <summary>GIE's scheduler and plugin latency buckets (100 µs to 100 ms).</summary>
    public static IReadOnlyList<double> SchedulingSeconds { get; } =
        [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];

    /// <summary>GIE's token-count buckets (1 to 1 Mi, with GIE's own 32778).</summary>
    public static IReadOnlyList<double> Tokens { get; } =
        [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536, 131072, 262144, 524288, 1048576];

    /// <summary>GIE's output-token buckets (1 to 8192).</summary>
    public static IReadOnlyList<double> OutputTokens { get; } = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

    /// <summary>GIE's request-size buckets in bytes (64 B to 1 GiB).</summary>
    public static IReadOnlyList<double> RequestBytes { get; } =
    [
        64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152,
        4194304, 8388608, 16777216, 33554432, 67108864, 134217728, 268435456, 536870912, 1073741824,
    ];

    /// <summary>GIE's response-size buckets in bytes (with GIE's own 32778).</summary>
    public static IReadOnlyList<double> ResponseBytes { get; } = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536];

    /// <summary>GIE's normalized-time-per-output-token buckets (1 ms to 10 s).</summary>
    public static IReadOnlyList<double> NormalizedTimePerOutputToken { get; } = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0];

    /// <summary>GIE's prefix-indexer hit-ratio buckets (0 to 1 by tenths).</summary>
    public static IReadOnlyList<double> HitRatio { get; } = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

    /// <summary>GIE's prefix-indexer hit-length buckets in bytes (0 to 64 KiB).</summary>
    public static IReadOnlyList<double> HitBytes { get; } = [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

    /// <summary>GIE's flow-control queue-duration buckets (100 µs to 60 s).</summary>
    public static IReadOnlyList<double> FlowControlQueueSeconds { get; } =
        [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

    /// <summary>llm-d's TTFT buckets: GIE's request latency buckets up to 120 s.</summary>
    public static IReadOnlyList<double> TimeToFirstTokenSeconds { get; } =
        [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120];

    /// <summary>llm-d's streaming time-per-output-token buckets (0.5 ms to 2 s).</summary>
    public static IReadOnlyList<double> StreamingTimePerOutputTokenSeconds { get; } =
        [0.0005, 0.00205, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.125, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 2];

    /// <summary>llm-d's inter-token latency buckets (1 ms to 2 s).</summary>
    public static IReadOnlyList<double> InterTokenLatencySeconds { get; } =
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2];

    /// <summary>llm-d's request-processing buckets (0.5 ms to 10 s).</summary>
    public static IReadOnlyList<double> RequestProcessingSeconds { get; } =
        [0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>llm-d's response-processing buckets (100 µs to 5 s).</summary>
    public static IReadOnlyList<double> ResponseProcessingSeconds { get; } =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    /// <summary>Advice that gives a histogram these boundaries.</summary>
    public static InstrumentAdvice<double> Advice(IReadOnlyList<double> boundaries) => new() { HistogramBucketBoundaries = boundaries };

    /// <summary>The Prometheus client libraries' defaults.</summary>
    public static IReadOnlyList<double> PrometheusDefault { get; } = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>
    /// Boundaries for an instrument with no explicit choice: the instrument's advice when it gives
    /// any, else by name and unit (<c>*_tokens</c>, scheduler/plugin durations, other seconds), else
    /// the Prometheus defaults.
    /// </summary>
    public static IReadOnlyList<double> For(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        var advised = instrument switch
        {
            Instrument<double> d => d.Advice?.HistogramBucketBoundaries,
            Instrument<long> l => l.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Instrument<int> i => i.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            _ => null,
        };
        if (advised is { Count: > 0 })
        {
            return advised;
        }

        var name = instrument.Name;
        if (name.EndsWith("_tokens", StringComparison.Ordinal))
        {
            return Tokens;
        }

        if (name.Contains("scheduler_", StringComparison.Ordinal) || name.Contains("plugin_duration", StringComparison.Ordinal))
        {
            return SchedulingSeconds;
        }

        if (instrument.Unit == "s" || name.EndsWith("_seconds", StringComparison.Ordinal))
        {
            return RequestSeconds;
        }

        return PrometheusDefault;
    }
}
