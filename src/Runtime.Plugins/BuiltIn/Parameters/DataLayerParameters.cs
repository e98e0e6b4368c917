using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>Parameters of <c>metrics-data-source</c>: where each endpoint's Prometheus metrics are scraped.</summary>
/// <remarks>
/// Defaults live in constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
public sealed record MetricsDataSourceParameters(string Scheme = "http", string Path = "/metrics", bool InsecureSkipVerify = true)
{
    [JsonPropertyName("scheme")]
    public string Scheme { get; init; } = Scheme;

    [JsonPropertyName("path")]
    public string Path { get; init; } = Path;

    [JsonPropertyName("insecureSkipVerify")]
    public bool InsecureSkipVerify { get; init; } = InsecureSkipVerify;

    internal static void Rules(MetricsDataSourceParameters p, string path, ValidationErrors errors)
    {
        if (p.Scheme is not ("http" or "https"))
        {
            errors.Report(FieldPath.Field(path, "scheme"), $"must be \"http\" or \"https\", got \"{p.Scheme}\"");
        }

        if (!p.Path.StartsWith('/'))
        {
            errors.Report(FieldPath.Field(path, "path"), $"must start with \"/\", got \"{p.Path}\"");
        }
    }
}

/// <summary>Parameters of <c>model-server-protocol-metrics</c>: which metric names mean queue, running, KV use, LoRA and cache info.</summary>
/// <remarks>
/// Defaults live in constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
public sealed record ModelServerMetricsExtractorParameters(IReadOnlyList<EngineMetricsParameters>? EngineConfigs = null)
{
    [JsonPropertyName("queuedRequestsSpec")]
    public string? QueuedRequestsSpec { get; init; }

    [JsonPropertyName("runningRequestsSpec")]
    public string? RunningRequestsSpec { get; init; }

    [JsonPropertyName("kvUsageSpec")]
    public string? KvUsageSpec { get; init; }

    [JsonPropertyName("loraSpec")]
    public string? LoraSpec { get; init; }

    [JsonPropertyName("cacheInfoSpec")]
    public string? CacheInfoSpec { get; init; }

    /// <summary>Use per-engine metric names chosen by a pod label.</summary>
    [JsonPropertyName("enableMultiEngine")]
    public bool EnableMultiEngine { get; init; }

    [JsonPropertyName("engineLabelKey")]
    public string? EngineLabelKey { get; init; }

    [JsonPropertyName("engineConfigs")]
    public IReadOnlyList<EngineMetricsParameters> EngineConfigs { get; init; } = EngineConfigs ?? [];

    internal static void Rules(ModelServerMetricsExtractorParameters p, string path, ValidationErrors errors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < p.EngineConfigs.Count; i++)
        {
            var name = p.EngineConfigs[i].Name;
            var namePath = FieldPath.Field(FieldPath.Index(FieldPath.Field(path, "engineConfigs"), i), "name");
            if (string.IsNullOrEmpty(name))
            {
                errors.Report(namePath, "is required");
            }
            else if (!seen.Add(name))
            {
                errors.Report(namePath, $"duplicate engine \"{name}\"");
            }
        }
    }
}

/// <summary>Metric names for one engine type (vllm, sglang, trtllm, ...).</summary>
public sealed record EngineMetricsParameters
{
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("queuedRequestsSpec")]
    public string? QueuedRequestsSpec { get; init; }

    [JsonPropertyName("runningRequestsSpec")]
    public string? RunningRequestsSpec { get; init; }

    [JsonPropertyName("kvUsageSpec")]
    public string? KvUsageSpec { get; init; }

    [JsonPropertyName("loraSpec")]
    public string? LoraSpec { get; init; }

    [JsonPropertyName("cacheInfoSpec")]
    public string? CacheInfoSpec { get; init; }
}
