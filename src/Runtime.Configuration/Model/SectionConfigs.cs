using System.Text.Json.Serialization;
using Runtime.Plugins.Values;

namespace Runtime.Configuration.Model;

/// <summary>
/// Which saturation detector plugin gates dispatch and shedding (default <c>utilization-detector</c>).
/// The threshold fields are the older inline form, still accepted: they configure the default detector.
/// </summary>
public sealed record SaturationDetectorConfig
{
    [JsonPropertyName("pluginRef")]
    public string? PluginRef { get; init; }

    [JsonPropertyName("queueDepthThreshold")]
    public int? QueueDepthThreshold { get; init; }

    [JsonPropertyName("kvCacheUtilThreshold")]
    public double? KvCacheUtilThreshold { get; init; }

    [JsonPropertyName("metricsStalenessThreshold")]
    public Duration? MetricsStalenessThreshold { get; init; }

    [JsonIgnore]
    public bool HasLegacyThresholds => QueueDepthThreshold is not null || KvCacheUtilThreshold is not null || MetricsStalenessThreshold is not null;
}

/// <summary>Which parser plugin reads request bodies (default <c>openai-parser</c>).</summary>
public sealed record ParserConfig
{
    [JsonPropertyName("pluginRef")]
    public string? PluginRef { get; init; }
}

/// <summary>llm-d v0.10's request handler section: the parsers requests may be read with.</summary>
/// <remarks>Lists default to empty through constructor parameters (dotnet/runtime#84484).</remarks>
public sealed record RequestHandlerConfig(IReadOnlyList<ParserConfig>? Parsers = null)
{
    [JsonPropertyName("parsers")]
    public IReadOnlyList<ParserConfig> Parsers { get; init; } = Parsers ?? [];
}

/// <summary>Metric sources and, per source, the extractors that read them.</summary>
/// <remarks>
/// Lists default to empty through constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
public sealed record DataLayerConfig(IReadOnlyList<DataLayerSourceConfig>? Sources = null)
{
    [JsonPropertyName("sources")]
    public IReadOnlyList<DataLayerSourceConfig> Sources { get; init; } = Sources ?? [];

    /// <summary>llm-d v0.10: add the default metrics source to the configured ones (default true); false keeps the list as written.</summary>
    [JsonPropertyName("injectDefaults")]
    public bool? InjectDefaults { get; init; }
}

/// <summary>One metric source and the extractors that read what it fetches.</summary>
public sealed record DataLayerSourceConfig(IReadOnlyList<DataLayerExtractorConfig>? Extractors = null)
{
    [JsonPropertyName("pluginRef")]
    public string? PluginRef { get; init; }

    [JsonPropertyName("extractors")]
    public IReadOnlyList<DataLayerExtractorConfig> Extractors { get; init; } = Extractors ?? [];
}

public sealed record DataLayerExtractorConfig
{
    [JsonPropertyName("pluginRef")]
    public string? PluginRef { get; init; }
}
