using System.Text.Json.Serialization;

namespace Runtime.Configuration.Model;

/// <summary>
/// The endpoint picker's configuration file, field for field as the Gateway API Inference
/// Extension (GIE) and llm-d define <c>EndpointPickerConfig</c>, plus <c>minimumStability</c>.
/// After loading, it is the effective configuration: the defaults the Go project injects are in it.
/// </summary>
/// <remarks>
/// Lists default to empty through constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
public sealed record EndpointPickerConfig(IReadOnlyList<PluginSpec>? Plugins = null, IReadOnlyList<SchedulingProfileConfig>? SchedulingProfiles = null)
{
    public const string GieApiVersion = "inference.networking.x-k8s.io/v1alpha1";
    public const string LlmDApiVersion = "llm-d.ai/v1alpha1";
    public const string ConfigKind = "EndpointPickerConfig";

    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; init; }

    [JsonPropertyName("kind")]
    public string? Kind { get; init; }

    /// <summary>
    /// Whose semantics the file asks for, by its apiVersion: an llm-d file (<c>llm-d.ai/...</c>) gets llm-d
    /// v0.10's (parsers chosen by path, bounded flow-control defaults, its rejection codes and header);
    /// anything else GIE v1.5.0's. The one place the dialect is decided.
    /// </summary>
    [JsonIgnore]
    public ConfigDialect Dialect => ApiVersion is { } version && version.StartsWith("llm-d.ai/", StringComparison.Ordinal) ? ConfigDialect.LlmD : ConfigDialect.Gie;

    /// <summary>Feature gates, in GIE's list form (<c>[flowControl]</c>) or a map (<c>{flowControl: true}</c>).</summary>
    [JsonPropertyName("featureGates")]
    public FeatureGatesConfig? FeatureGates { get; init; }

    /// <summary>Rejects the file if it uses a plugin type or feature gate less mature than this (Deprecated, Alpha, Beta, Stable).</summary>
    [JsonPropertyName("minimumStability")]
    public string? MinimumStability { get; init; }

    /// <summary>Plugin instances to create; other sections refer to them by name.</summary>
    [JsonPropertyName("plugins")]
    public IReadOnlyList<PluginSpec> Plugins { get; init; } = Plugins ?? [];

    [JsonPropertyName("schedulingProfiles")]
    public IReadOnlyList<SchedulingProfileConfig> SchedulingProfiles { get; init; } = SchedulingProfiles ?? [];

    [JsonPropertyName("saturationDetector")]
    public SaturationDetectorConfig? SaturationDetector { get; init; }

    /// <summary>Metric sources and extractors. Absent: metrics-data-source → core-metrics-extractor; present but empty: no scraping (GIE v1.5.0).</summary>
    [JsonPropertyName("dataLayer")]
    public DataLayerConfig? DataLayer { get; init; }

    /// <summary>Priority queuing; honoured only with the <c>flowControl</c> feature gate.</summary>
    [JsonPropertyName("flowControl")]
    public FlowControlConfig? FlowControl { get; init; }

    /// <summary>GIE's single parser reference (llm-d v0.10 deprecates it for <see cref="RequestHandler"/>).</summary>
    [JsonPropertyName("parser")]
    public ParserConfig? Parser { get; init; }

    /// <summary>llm-d v0.10: <c>requestHandler.parsers</c>, a list of parser references.</summary>
    [JsonPropertyName("requestHandler")]
    public RequestHandlerConfig? RequestHandler { get; init; }
}
