using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;

namespace Runtime.ModelMetrics.Mapping;

/// <summary>
/// Chooses each endpoint's <see cref="EngineMetricsMapping"/> from its engine label. Built from the
/// <c>core-metrics-extractor</c> parameters the way GIE builds its registry:
/// <list type="bullet">
/// <item><c>engineConfigs</c> entries replace the built-in engine of the same name whole, or add a
/// new engine; a spec left out or empty disables that value for the engine.</item>
/// <item>the top-level <c>*Spec</c> fields override the default engine (<c>defaultEngine</c>, vLLM unless set) field by field; an
/// empty string disables the value. They apply to endpoints with no engine label or an unknown one.</item>
/// </list>
/// <c>enableMultiEngine</c> is accepted for compatibility; per-endpoint engines are always honoured
/// (SPEC §5), and an endpoint without the label uses the default mapping as in GIE.
/// </summary>
internal sealed class ModelServerMetricsMappings
{
    private readonly Dictionary<string, EngineMetricsMapping> _engines;

    private ModelServerMetricsMappings(Dictionary<string, EngineMetricsMapping> engines, EngineMetricsMapping defaultMapping, string engineLabelKey)
    {
        _engines = engines;
        Default = defaultMapping;
        EngineLabelKey = engineLabelKey;
    }

    /// <summary>The built-in engines with no overrides.</summary>
    public static ModelServerMetricsMappings BuiltIn { get; } =
        new(WithAliases(new Dictionary<string, EngineMetricsMapping>(BuiltInEngineMappings.All, StringComparer.Ordinal), []), BuiltInEngineMappings.VllmMapping, Endpoint.EngineTypeLabel);

    /// <summary>Used for endpoints without an engine label, or with an engine no mapping names.</summary>
    public EngineMetricsMapping Default { get; }

    public string EngineLabelKey { get; }

    public IReadOnlyDictionary<string, EngineMetricsMapping> Engines => _engines;

    /// <summary>The mapping for <paramref name="endpoint"/>'s engine (resolved once per endpoint, not per scrape).</summary>
    public EngineMetricsMapping For(Endpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var engine = EngineLabelKey == Endpoint.EngineTypeLabel
            ? endpoint.EngineType
            : endpoint.Labels.TryGetValue(EngineLabelKey, out var value) ? value : null;
        return engine is not null && _engines.TryGetValue(engine, out var mapping) ? mapping : Default;
    }

    /// <summary>Builds the mappings from plugin parameters; every invalid spec is reported.</summary>
    public static bool TryCreate(ModelServerMetricsExtractorParameters? parameters, out ModelServerMetricsMappings mappings, out IReadOnlyList<string> errors)
    {
        mappings = BuiltIn;
        if (parameters is null)
        {
            errors = [];
            return true;
        }

        var problems = new List<string>();
        var engines = new Dictionary<string, EngineMetricsMapping>(BuiltInEngineMappings.All, StringComparer.Ordinal);
        for (var i = 0; i < parameters.EngineConfigs.Count; i++)
        {
            var config = parameters.EngineConfigs[i];
            var path = $"engineConfigs[{i}]";
            if (string.IsNullOrEmpty(config.Name))
            {
                problems.Add($"{path}.name: is required");
                continue;
            }

            engines[config.Name] = new EngineMetricsMapping
            {
                Engine = config.Name,
                QueuedRequests = Spec(config.QueuedRequestsSpec, $"{path}.queuedRequestsSpec", problems),
                RunningRequests = Spec(config.RunningRequestsSpec, $"{path}.runningRequestsSpec", problems),
                KvUsage = Spec(config.KvUsageSpec, $"{path}.kvUsageSpec", problems),
                Lora = Spec(config.LoraSpec, $"{path}.loraSpec", problems),
                CacheInfo = Spec(config.CacheInfoSpec, $"{path}.cacheInfoSpec", problems),
                CacheBlockSizeLabel = string.IsNullOrEmpty(config.CacheBlockSizeLabelName) ? EngineMetricsMapping.DefaultCacheBlockSizeLabel : config.CacheBlockSizeLabelName,
                CacheNumBlocksLabel = string.IsNullOrEmpty(config.CacheNumBlocksLabelName) ? EngineMetricsMapping.DefaultCacheNumBlocksLabel : config.CacheNumBlocksLabelName,
                CacheBlockSize = Spec(config.CacheBlockSizeSpec, $"{path}.cacheBlockSizeSpec", problems),
                CacheNumBlocks = Spec(config.CacheNumBlocksSpec, $"{path}.cacheNumBlocksSpec", problems),
            };
        }

        // GIE v1.5.0: defaultEngine picks the mapping for endpoints without (or with an unknown) engine label.
        var defaultEngine = string.IsNullOrEmpty(parameters.DefaultEngine) ? BuiltInEngineMappings.Vllm : parameters.DefaultEngine;
        if (!engines.ContainsKey(defaultEngine) && BuiltInEngineMappings.Aliases.TryGetValue(defaultEngine, out var aliased))
        {
            defaultEngine = aliased;
        }

        if (!engines.TryGetValue(defaultEngine, out var defaultMapping))
        {
            problems.Add($"defaultEngine: no engine named \"{parameters.DefaultEngine}\"");
            errors = problems;
            return false;
        }

        if (parameters.QueuedRequestsSpec is { } queued)
        {
            defaultMapping = defaultMapping with { QueuedRequests = Spec(queued, "queuedRequestsSpec", problems) };
        }

        if (parameters.RunningRequestsSpec is { } running)
        {
            defaultMapping = defaultMapping with { RunningRequests = Spec(running, "runningRequestsSpec", problems) };
        }

        if (parameters.KvUsageSpec is { } kv)
        {
            // An explicit KV spec means exactly that series: the built-in fallback name no longer applies.
            defaultMapping = defaultMapping with { KvUsage = Spec(kv, "kvUsageSpec", problems), KvUsageFallback = null };
        }

        if (parameters.LoraSpec is { } lora)
        {
            defaultMapping = defaultMapping with { Lora = Spec(lora, "loraSpec", problems) };
        }

        if (parameters.CacheInfoSpec is { } cacheInfo)
        {
            defaultMapping = defaultMapping with { CacheInfo = Spec(cacheInfo, "cacheInfoSpec", problems) };
        }

        errors = problems;
        if (problems.Count > 0)
        {
            return false;
        }

        // Endpoints labelled with the default engine's name get the overridden mapping too.
        engines[defaultEngine] = defaultMapping;
        WithAliases(engines, parameters.EngineConfigs.Select(c => c.Name!).ToHashSet(StringComparer.Ordinal));

        var labelKey = string.IsNullOrEmpty(parameters.EngineLabelKey) ? Endpoint.EngineTypeLabel : parameters.EngineLabelKey;
        mappings = new ModelServerMetricsMappings(engines, defaultMapping, labelKey);
        return true;
    }

    /// <summary>Adds the short aliases, pointing at the (possibly reconfigured) engine they stand for, unless configured themselves.</summary>
    private static Dictionary<string, EngineMetricsMapping> WithAliases(Dictionary<string, EngineMetricsMapping> engines, HashSet<string> configured)
    {
        foreach (var (alias, engine) in BuiltInEngineMappings.Aliases)
        {
            if (!configured.Contains(alias))
            {
                engines[alias] = engines[engine];
            }
        }

        return engines;
    }

    private static MetricSpec? Spec(string? text, string path, List<string> problems)
    {
        if (MetricSpec.TryParse(text, out var spec, out var error))
        {
            return spec;
        }

        problems.Add($"{path}: {error}");
        return null;
    }
}
