using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>Parameters of <c>metrics-data-source</c>: where each endpoint's Prometheus metrics are scraped.</summary>
/// <remarks>
/// Defaults live in constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
internal sealed record MetricsDataSourceParameters(string Scheme = "http", string Path = "/metrics", bool InsecureSkipVerify = true)
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

/// <summary>
/// Parameters of <c>core-metrics-extractor</c> (formerly <c>model-server-protocol-metrics</c>): which metric
/// names mean queue, running, KV use, LoRA and cache info, per engine (GIE v1.5.0's fields), plus the
/// older top-level <c>*Spec</c> overrides of the default engine.
/// </summary>
/// <remarks>
/// Defaults live in constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
internal sealed record ModelServerMetricsExtractorParameters(IReadOnlyList<EngineMetricsParameters>? EngineConfigs = null)
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

    /// <summary>The engine whose mapping applies to endpoints without an engine label (default vllm); must be a built-in or configured engine.</summary>
    [JsonPropertyName("defaultEngine")]
    public string? DefaultEngine { get; init; }

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
            else if (name == ReservedEngineName)
            {
                errors.Report(namePath, $"\"{ReservedEngineName}\" is reserved; name the engine after the server it describes");
            }
            else if (!seen.Add(name))
            {
                errors.Report(namePath, $"duplicate engine \"{name}\"");
            }
        }

        if (!string.IsNullOrEmpty(p.DefaultEngine) && !seen.Contains(p.DefaultEngine) && !BuiltInEngineNames.Contains(p.DefaultEngine))
        {
            var known = BuiltInEngineNames.Concat(seen).Distinct().ToArray();
            errors.Report(FieldPath.Field(path, "defaultEngine"), $"no engine named \"{p.DefaultEngine}\"{NameSuggestions.Hint(p.DefaultEngine, known)} (engines: {string.Join(", ", known)})");
        }
    }

    /// <summary>GIE reserves this engine name for its own fallback entry.</summary>
    public const string ReservedEngineName = "default";

    /// <summary>The engines every build knows (GIE v1.5.0's four, plus the short names we accept for them).</summary>
    public static IReadOnlyList<string> BuiltInEngineNames { get; } = ["vllm", "sglang", "trtllm-serve", "triton-tensorrt-llm", "trtllm", "triton"];
}

/// <summary>Metric names for one engine type (vllm, sglang, trtllm, ...).</summary>
internal sealed record EngineMetricsParameters
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

    /// <summary>The cacheInfoSpec label holding the block size (default block_size).</summary>
    [JsonPropertyName("cacheBlockSizeLabelName")]
    public string? CacheBlockSizeLabelName { get; init; }

    /// <summary>The cacheInfoSpec label holding the GPU block count (default num_gpu_blocks).</summary>
    [JsonPropertyName("cacheNumBlocksLabelName")]
    public string? CacheNumBlocksLabelName { get; init; }

    /// <summary>Block size as a gauge value, for engines without an info metric.</summary>
    [JsonPropertyName("cacheBlockSizeSpec")]
    public string? CacheBlockSizeSpec { get; init; }

    /// <summary>GPU block count as a gauge value.</summary>
    [JsonPropertyName("cacheNumBlocksSpec")]
    public string? CacheNumBlocksSpec { get; init; }
}
