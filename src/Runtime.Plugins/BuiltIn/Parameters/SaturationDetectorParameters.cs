using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;
using Runtime.Plugins.Values;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>Parameters of <c>utilization-detector</c>: per endpoint max(waiting/queueDepthThreshold, kv/kvCacheUtilThreshold), averaged.</summary>
internal sealed record UtilizationDetectorParameters
{
    public const int DefaultQueueDepthThreshold = 5;
    public const double DefaultKvCacheUtilThreshold = 0.8;
    public static readonly TimeSpan DefaultMetricsStalenessThreshold = TimeSpan.FromMilliseconds(200);

    [JsonPropertyName("queueDepthThreshold")]
    public int? QueueDepthThreshold { get; init; }

    [JsonPropertyName("kvCacheUtilThreshold")]
    public double? KvCacheUtilThreshold { get; init; }

    /// <summary>Metrics older than this count as saturated (fail closed).</summary>
    [JsonPropertyName("metricsStalenessThreshold")]
    public Duration? MetricsStalenessThreshold { get; init; }

    /// <summary>Burst allowance above the thresholds, as a fraction (0.2 = 20%).</summary>
    [JsonPropertyName("headroom")]
    public double? Headroom { get; init; }

    internal static void Rules(UtilizationDetectorParameters p, string path, ValidationErrors errors)
    {
        if (p.QueueDepthThreshold is < 0)
        {
            errors.Report(FieldPath.Field(path, "queueDepthThreshold"), $"must not be negative, got {p.QueueDepthThreshold}");
        }

        if (p.KvCacheUtilThreshold is { } kv && !(kv > 0 && kv <= 1))
        {
            errors.Report(FieldPath.Field(path, "kvCacheUtilThreshold"), $"must be in (0, 1], got {kv}");
        }

        if (p.MetricsStalenessThreshold is { } staleness && staleness.Value <= TimeSpan.Zero)
        {
            errors.Report(FieldPath.Field(path, "metricsStalenessThreshold"), $"must be positive, got {staleness}");
        }

        if (p.Headroom is < 0)
        {
            errors.Report(FieldPath.Field(path, "headroom"), $"must not be negative, got {p.Headroom}");
        }
    }
}

/// <summary>Parameters of <c>concurrency-detector</c>: in-flight load against maxConcurrency per endpoint.</summary>
internal sealed record ConcurrencyDetectorParameters
{
    public const long DefaultMaxConcurrency = 100;
    public const long DefaultMaxTokenConcurrency = 1_000_000;

    /// <summary>"requests" (default) counts requests in flight; "tokens" counts estimated tokens.</summary>
    [JsonPropertyName("concurrencyMode")]
    public string? ConcurrencyMode { get; init; }

    [JsonPropertyName("maxConcurrency")]
    public long? MaxConcurrency { get; init; }

    [JsonPropertyName("maxTokenConcurrency")]
    public long? MaxTokenConcurrency { get; init; }

    /// <summary>Burst allowance above the limit when used as a filter, as a fraction.</summary>
    [JsonPropertyName("headroom")]
    public double? Headroom { get; init; }

    internal static void Rules(ConcurrencyDetectorParameters p, string path, ValidationErrors errors)
    {
        if (p.ConcurrencyMode is not (null or "requests" or "tokens"))
        {
            errors.Report(FieldPath.Field(path, "concurrencyMode"), $"must be \"requests\" or \"tokens\", got \"{p.ConcurrencyMode}\"");
        }

        if (p.MaxConcurrency is <= 0)
        {
            errors.Report(FieldPath.Field(path, "maxConcurrency"), $"must be positive, got {p.MaxConcurrency}");
        }

        if (p.MaxTokenConcurrency is <= 0)
        {
            errors.Report(FieldPath.Field(path, "maxTokenConcurrency"), $"must be positive, got {p.MaxTokenConcurrency}");
        }

        if (p.Headroom is < 0)
        {
            errors.Report(FieldPath.Field(path, "headroom"), $"must not be negative, got {p.Headroom}");
        }
    }
}
