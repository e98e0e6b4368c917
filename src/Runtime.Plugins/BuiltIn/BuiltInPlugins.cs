using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Parameters;
using Runtime.Plugins.Registry;

namespace Runtime.Plugins.BuiltIn;

/// <summary>
/// The catalog: every built-in plugin type, feature gate and tombstone, in one place. It declares
/// what each type is (kind, stability, gate, parameters); the projects that implement the types add
/// their factories with <see cref="PluginRegistryBuilder.UseFactory"/> when they compose the host.
/// Until then a type validates fully and reports plainly that it cannot run in this build.
/// </summary>
/// <remarks>
/// Type names and parameters follow the Gateway API Inference Extension (GIE) endpoint picker and
/// body-based router, so their configuration files load unchanged. Stability levels are our
/// assessment: Stable for what GIE's default configuration uses, Beta for complete but newer
/// types (llm-d's prefill/decode handler behind a Beta gate that can switch it off), Alpha (gated
/// off by default) for GIE's experimental features: flow control and the pluggable data layer.
/// </remarks>
public static class BuiltInPlugins
{
    public const string FlowControlGate = "flowControl";
    public const string DataLayerGate = "dataLayer";
    public const string PdDisaggregationGate = "pdDisaggregation";

    public const string OpenAIParser = "openai-parser";
    public const string QueueScorer = "queue-scorer";
    public const string KvCacheUtilizationScorer = "kv-cache-utilization-scorer";
    public const string KvCacheScorer = "kv-cache-scorer";
    public const string PrefixCacheScorer = "prefix-cache-scorer";
    public const string LoraAffinityScorer = "lora-affinity-scorer";
    public const string RunningRequestsSizeScorer = "running-requests-size-scorer";
    public const string MaxScorePicker = "max-score-picker";
    public const string RandomPicker = "random-picker";
    public const string WeightedRandomPicker = "weighted-random-picker";
    public const string SingleProfileHandler = "single-profile-handler";
    public const string PdProfileHandler = "pd-profile-handler";
    public const string UtilizationDetector = "utilization-detector";
    public const string ConcurrencyDetector = "concurrency-detector";
    public const string FcfsOrderingPolicy = "fcfs-ordering-policy";
    public const string EdfOrderingPolicy = "edf-ordering-policy";
    public const string GlobalStrictFairnessPolicy = "global-strict-fairness-policy";
    public const string RoundRobinFairnessPolicy = "round-robin-fairness-policy";
    public const string StaticUsageLimitPolicy = "static-usage-limit-policy";
    public const string MetricsDataSource = "metrics-data-source";
    public const string ModelServerProtocolMetrics = "model-server-protocol-metrics";
    public const string BodyFieldToHeader = "body-field-to-header";
    public const string BaseModelToHeader = "base-model-to-header";

    private const string FiltersRemovedIn = "the Gateway API Inference Extension (filters were replaced by scorers before v1.5)";

    /// <summary>A builder holding the whole catalog, ready for implementations to add factories.</summary>
    public static PluginRegistryBuilder CreateBuilder()
    {
        var builder = new PluginRegistryBuilder();
        foreach (var gate in FeatureGates())
        {
            builder.AddFeatureGate(gate);
        }

        foreach (var registration in Registrations())
        {
            builder.Register(registration);
        }

        foreach (var tombstone in Tombstones())
        {
            builder.AddTombstone(tombstone);
        }

        return builder;
    }

    private static IEnumerable<FeatureGate> FeatureGates() =>
    [
        new(FlowControlGate, StabilityLevel.Alpha, "Queue requests by priority band and fairness flow while the pool is saturated; enables the flowControl section and its policy plugins."),
        new(DataLayerGate, StabilityLevel.Alpha, "Configurable metric sources and extractors (the dataLayer section) instead of the built-in scraper."),
        new(PdDisaggregationGate, StabilityLevel.Beta, "Prefill/decode disaggregation across two scheduling profiles (llm-d's pd-profile-handler); on by default so llm-d configurations load unchanged."),
    ];

    private static IEnumerable<PluginRegistration> Registrations() =>
    [
        // Request parsing.
        Stable(OpenAIParser, PluginKinds.Parser, "Parses OpenAI-style bodies by path suffix: /chat/completions, /completions, /responses, /conversations, /embeddings."),

        // Scheduling: scorers (score in [0, 1], weighted per profile), pickers, profile handlers.
        Stable(QueueScorer, PluginKinds.Scorer, "Prefers endpoints with short waiting queues (min-max normalised; all equal scores 1)."),
        Stable(KvCacheUtilizationScorer, PluginKinds.Scorer, "Prefers endpoints with free KV cache: 1 - KV-cache utilisation."),
        Stable(PrefixCacheScorer, PluginKinds.Scorer, "Prefers endpoints likely to hold the prompt's prefix in cache: matched leading blocks / total.", BuiltInParameterBinders.PrefixCacheScorer),
        Stable(LoraAffinityScorer, PluginKinds.Scorer, "Prefers endpoints with the request's LoRA adapter active (1.0), a free slot (0.8), or the adapter waiting (0.6)."),
        Beta(RunningRequestsSizeScorer, PluginKinds.Scorer, "Prefers endpoints with fewer requests running."),
        new PluginRegistration
        {
            TypeName = KvCacheScorer,
            Kinds = PluginKinds.Scorer,
            Stability = StabilityLevel.Deprecated,
            Deprecation = new PluginDeprecation("The Go project renamed kv-cache-scorer to kv-cache-utilization-scorer; the old name still loads here and behaves the same.", [KvCacheUtilizationScorer]),
            Description = "Former name of kv-cache-utilization-scorer.",
        },
        Stable(MaxScorePicker, PluginKinds.Picker, "Picks the highest total score (random tie-break); maxNumOfEndpoints adds fallbacks.", BuiltInParameterBinders.Picker),
        Stable(RandomPicker, PluginKinds.Picker, "Picks uniformly at random among the candidates.", BuiltInParameterBinders.Picker),
        Beta(WeightedRandomPicker, PluginKinds.Picker, "Picks at random with probability proportional to score.", BuiltInParameterBinders.Picker),
        Stable(SingleProfileHandler, PluginKinds.ProfileHandler, "Runs the one scheduling profile and returns its result."),
        new PluginRegistration
        {
            TypeName = PdProfileHandler,
            Kinds = PluginKinds.ProfileHandler,
            Stability = StabilityLevel.Beta,
            FeatureGate = PdDisaggregationGate,
            Description = "Runs a decode profile and, when the uncached prompt is long enough, a prefill profile (llm-d).",
            Parameters = BuiltInParameterBinders.PdProfileHandler,
        },

        // Saturation: gates dispatch (flow control) and sheds sheddable requests.
        Stable(UtilizationDetector, PluginKinds.SaturationDetector, "Saturation from queue depth and KV-cache use against thresholds; stale metrics count as saturated.", BuiltInParameterBinders.UtilizationDetector),
        Beta(ConcurrencyDetector, PluginKinds.SaturationDetector | PluginKinds.Filter, "Saturation from in-flight requests (or tokens) against maxConcurrency; as a filter, drops endpoints over the limit.", BuiltInParameterBinders.ConcurrencyDetector),

        // Flow control policies.
        FlowControl(FcfsOrderingPolicy, PluginKinds.OrderingPolicy, "Orders a flow's queue first come, first served (the default)."),
        FlowControl(EdfOrderingPolicy, PluginKinds.OrderingPolicy, "Orders a flow's queue by earliest deadline (enqueue time + TTL)."),
        FlowControl(GlobalStrictFairnessPolicy, PluginKinds.FairnessPolicy, "Serves the best head request across a band's flows (the default)."),
        FlowControl(RoundRobinFairnessPolicy, PluginKinds.FairnessPolicy, "Serves a band's flows in turn."),
        FlowControl(StaticUsageLimitPolicy, PluginKinds.UsageLimitPolicy, "Lets bands dispatch while pool saturation is below a fixed threshold (default 1.0).", BuiltInParameterBinders.StaticUsageLimitPolicy),

        // Data layer.
        DataLayer(MetricsDataSource, PluginKinds.DataSource, "Scrapes each endpoint's Prometheus metrics.", BuiltInParameterBinders.MetricsDataSource),
        DataLayer(ModelServerProtocolMetrics, PluginKinds.DataExtractor, "Maps model-server metric names (vLLM, SGLang, ...) to queue, running, KV-cache, LoRA and cache info.", BuiltInParameterBinders.ModelServerMetricsExtractor),

        // Body-based routing (configured in the body-based router, not the endpoint picker).
        Stable(BodyFieldToHeader, PluginKinds.BbrRequestProcessor, "Copies a top-level body field into a request header (model -> X-Gateway-Model-Name).", BuiltInParameterBinders.BodyFieldToHeader),
        Stable(BaseModelToHeader, PluginKinds.BbrRequestProcessor, "Sets X-Gateway-Base-Model-Name from the LoRA adapter's base model mapping."),
    ];

    private static IEnumerable<PluginTombstone> Tombstones() =>
    [
        new("least-queue-filter", FiltersRemovedIn, "Filters dropped endpoints outright; a scorer ranks them instead. Reference the scorer from your scheduling profile with a weight.", [QueueScorer]),
        new("low-queue-filter", FiltersRemovedIn, "Filters dropped endpoints outright; a scorer ranks them instead. Reference the scorer from your scheduling profile with a weight.", [QueueScorer]),
        new("least-kv-cache-filter", FiltersRemovedIn, "Filters dropped endpoints outright; a scorer ranks them instead. Reference the scorer from your scheduling profile with a weight.", [KvCacheUtilizationScorer]),
        new("lora-affinity-filter", FiltersRemovedIn, "Filters dropped endpoints outright; a scorer ranks them instead. Reference the scorer from your scheduling profile with a weight.", [LoraAffinityScorer]),
        new("decision-tree-filter", FiltersRemovedIn, "The decision tree chained queue, KV-cache and LoRA filters; declare the three scorers that replace them and weight them in your scheduling profile.", [QueueScorer, KvCacheUtilizationScorer, LoraAffinityScorer]),
    ];

    private static PluginRegistration Stable(string type, PluginKinds kinds, string description, IPluginParameterBinder? parameters = null) =>
        new() { TypeName = type, Kinds = kinds, Stability = StabilityLevel.Stable, Description = description, Parameters = parameters ?? PluginParameterBinders.None };

    private static PluginRegistration Beta(string type, PluginKinds kinds, string description, IPluginParameterBinder? parameters = null) =>
        new() { TypeName = type, Kinds = kinds, Stability = StabilityLevel.Beta, Description = description, Parameters = parameters ?? PluginParameterBinders.None };

    private static PluginRegistration FlowControl(string type, PluginKinds kinds, string description, IPluginParameterBinder? parameters = null) =>
        new() { TypeName = type, Kinds = kinds, Stability = StabilityLevel.Alpha, FeatureGate = FlowControlGate, Description = description, Parameters = parameters ?? PluginParameterBinders.None };

    private static PluginRegistration DataLayer(string type, PluginKinds kinds, string description, IPluginParameterBinder? parameters = null) =>
        new() { TypeName = type, Kinds = kinds, Stability = StabilityLevel.Alpha, FeatureGate = DataLayerGate, Description = description, Parameters = parameters ?? PluginParameterBinders.None };
}
