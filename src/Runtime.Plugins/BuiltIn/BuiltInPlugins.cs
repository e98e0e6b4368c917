using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Parameters;
using Runtime.Plugins.Registry;

namespace Runtime.Plugins.BuiltIn;

/// <summary>
/// The catalog: every built-in plugin type, feature gate and tombstone, in one place. It declares
/// what each type is (kind, stability, gate, parameters); the projects that implement the types add
/// their factories with <see cref="PluginRegistryBuilder.UseFactory"/> when they compose the host.
/// A type this build cannot run is declared <see cref="PluginRegistration.Unavailable"/>: configs
/// naming it fail validation with the reason, never at serve time.
/// </summary>
/// <remarks>
/// Type names and parameters follow the Gateway API Inference Extension (GIE) v1.5.0 endpoint picker
/// (every type its <c>registerInTreePlugins</c> registers) and body-based router, and llm-d v0.10 where
/// it renamed a type we have, so their configuration files load unchanged. Stability levels are our
/// assessment: Stable for what GIE's default configuration uses, Beta for complete but newer types;
/// Alpha exactly where llm-d v0.10 declares the type Alpha (it then loads only with
/// <c>--allow-experimental-plugins</c>, as in llm-d). GIE v1.5.0 has no stability levels and none of
/// its types is Alpha in llm-d, so GIE configurations load with default flags.
/// </remarks>
internal static partial class BuiltInPlugins
{
    public const string FlowControlGate = "flowControl";
    public const string DataLayerGate = "dataLayer";
    public const string EnableLegacyMetricsGate = "enableLegacyMetrics";
    public const string HaPopulateNonLeaderDatastoreGate = "haPopulateNonLeaderDatastore";

    public const string OpenAIParser = "openai-parser";
    public const string PassthroughParser = "passthrough-parser";
    public const string VllmGrpcParser = "vllmgrpc-parser";
    public const string AnthropicParser = "anthropic-parser";
    public const string VllmHttpParser = "vllmhttp-parser";
    public const string QueueScorer = "queue-scorer";
    public const string KvCacheUtilizationScorer = "kv-cache-utilization-scorer";
    public const string KvCacheScorer = "kv-cache-scorer";
    public const string PrefixCacheScorer = "prefix-cache-scorer";
    public const string ApproxPrefixCacheProducer = "approx-prefix-cache-producer";
    public const string LoraAffinityScorer = "lora-affinity-scorer";
    public const string RunningRequestsSizeScorer = "running-requests-size-scorer";
    public const string TokenLoadScorer = "token-load-scorer";
    public const string InflightLoadProducer = "inflight-load-producer";
    public const string MaxScorePicker = "max-score-picker";
    public const string RandomPicker = "random-picker";
    public const string WeightedRandomPicker = "weighted-random-picker";
    public const string SingleProfileHandler = "single-profile-handler";
    public const string PdProfileHandler = "pd-profile-handler";
    public const string HeaderBasedTestingFilter = "header-based-testing-filter";
    public const string DestinationEndpointServedVerifier = "destination-endpoint-served-verifier";
    public const string RequestAttributeReporter = "request-attribute-reporter";
    public const string UtilizationDetector = "utilization-detector";
    public const string UtilizationFilter = "utilization-filter";
    public const string ConcurrencyDetector = "concurrency-detector";
    public const string FcfsOrderingPolicy = "fcfs-ordering-policy";
    public const string EdfOrderingPolicy = "edf-ordering-policy";
    public const string SloDeadlineOrderingPolicy = "slo-deadline-ordering-policy";
    public const string GlobalStrictFairnessPolicy = "global-strict-fairness-policy";
    public const string RoundRobinFairnessPolicy = "round-robin-fairness-policy";
    public const string StaticUsageLimitPolicy = "static-usage-limit-policy";
    public const string MetricsDataSource = "metrics-data-source";
    public const string CoreMetricsExtractor = "core-metrics-extractor";
    public const string ModelServerProtocolMetrics = "model-server-protocol-metrics";
    public const string K8sNotificationSource = "k8s-notification-source";
    public const string EndpointNotificationSource = "endpoint-notification-source";
    public const string BodyFieldToHeader = "body-field-to-header";
    public const string BaseModelToHeader = "base-model-to-header";

    /// <summary>GIE v1.5.0's latency-predictor family: they need the predictor sidecars (training and prediction servers).</summary>
    public static IReadOnlyList<string> LatencyPredictorTypes { get; } =
    [
        "predicted-latency-scorer",
        "predicted-latency-producer",
        "latency-slo-admitter",
        "prefix-cache-affinity-filter",
        "slo-headroom-tier-filter",
        "latency-scorer",
    ];

    private const string FiltersRemovedIn = "the Gateway API Inference Extension (filters were replaced by scorers before v1.5)";

    private const string LatencyPredictorUnavailable =
        "it belongs to GIE's latency-predictor family, which needs the external latency-predictor training and prediction servers; this build does not include that integration. Remove it (and its profile references) to use the standard scorers";

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
        new(FlowControlGate, StabilityLevel.Alpha, "Queue requests by priority band and fairness flow while the pool is saturated; enables the flowControl section (GIE v1.5.0 and llm-d v0.10)."),
        new(DataLayerGate, StabilityLevel.Stable, "Accepted for GIE compatibility and has no effect: the dataLayer section is always honoured, as in GIE v1.5.0 (which made this gate a no-op)."),
        new(EnableLegacyMetricsGate, StabilityLevel.Alpha, "GIE v1.5.0: ignore the dataLayer section and scrape with the metric names and path of the command-line flags (the pre-data-layer behaviour)."),
        new(HaPopulateNonLeaderDatastoreGate, StabilityLevel.Beta, "llm-d v0.10: keep the endpoint datastore populated on every replica, not only the leader. This build always does, so switching it off is reported and has no effect."),
    ];

    private static IEnumerable<PluginRegistration> Registrations() =>
    [
        // Request parsing.
        Stable(OpenAIParser, PluginKinds.Parser, "Parses OpenAI-style bodies by path suffix: /chat/completions, /completions, /responses, /conversations, /embeddings."),
        Beta(PassthroughParser, PluginKinds.Parser, "Does not read the body: requests are scheduled without a model or prompt (no prefix affinity), and the body passes unchanged."),
        Beta(VllmGrpcParser, PluginKinds.Parser, "Parses vLLM's gRPC engine API: /vllm.grpc.engine.VllmEngine/Generate (text or tokenized input, stream) and /Embed; the prompt feeds prefix affinity, the response frames the token usage."),

        // Scheduling: scorers (score in [0, 1], weighted per profile), pickers, profile handlers, filters.
        Stable(QueueScorer, PluginKinds.Scorer, "Prefers endpoints with short waiting queues (min-max normalised; all equal scores 1)."),
        Stable(KvCacheUtilizationScorer, PluginKinds.Scorer, "Prefers endpoints with free KV cache: 1 - KV-cache utilisation."),
        Stable(PrefixCacheScorer, PluginKinds.Scorer, "Prefers endpoints likely to hold the prompt's prefix in cache: matched leading blocks / total. Its parameters configure the prefix producer it uses.", BuiltInParameterBinders.PrefixCacheScorer),
        Beta(ApproxPrefixCacheProducer, PluginKinds.DataProducer, "Hashes the prompt into blocks and tracks which endpoint was sent which blocks; feeds prefix-cache-scorer. Created automatically for a prefix-cache-scorer when not declared.", BuiltInParameterBinders.PrefixCacheScorer),
        Stable(LoraAffinityScorer, PluginKinds.Scorer, "Prefers endpoints with the request's LoRA adapter active (1.0), a free slot (0.8), or the adapter waiting (0.6)."),
        Beta(RunningRequestsSizeScorer, PluginKinds.Scorer, "Prefers endpoints with fewer requests running."),
        Beta(TokenLoadScorer, PluginKinds.Scorer, "Prefers endpoints with fewer in-flight tokens: 1 - min(tokens, queueThresholdTokens) / queueThresholdTokens.", BuiltInParameterBinders.TokenLoadScorer),
        Beta(InflightLoadProducer, PluginKinds.DataProducer, "Tracks in-flight requests and tokens per endpoint from pick to response end (what token-load-scorer and concurrency-detector read)."),
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
        Alpha(UtilizationFilter, PluginKinds.Filter, "llm-d's filter: keeps endpoints within every condition's maxValue on active-requests (in flight from this picker), running-requests, waiting-queue or kv-cache-utilization (scraped; missing counts 0); fallbackOnEmpty keeps all candidates when none passes.", BuiltInParameterBinders.UtilizationFilter),
        Beta(HeaderBasedTestingFilter, PluginKinds.Filter, "Conformance test filter: keeps only the endpoints whose IP or IP:port the test-epp-endpoint-selection header lists (none when the header is absent)."),

        // Response hooks.
        Beta(DestinationEndpointServedVerifier, PluginKinds.ResponseHook, "Conformance test hook: copies the endpoint Envoy reports as served (envoy.lb metadata) into the x-conformance-test-served-endpoint response header."),
        Beta(RequestAttributeReporter, PluginKinds.ResponseHook, "Evaluates a CEL expression over the response's usage and returns the integer as dynamic metadata (namespace/name) with the final response body.", BuiltInParameterBinders.RequestAttributeReporter),

        // Saturation: gates dispatch (flow control) and sheds sheddable requests.
        Stable(UtilizationDetector, PluginKinds.SaturationDetector | PluginKinds.Filter, "Saturation from queue depth and KV-cache use against thresholds; stale metrics count as saturated. As a filter, drops endpoints over the thresholds.", BuiltInParameterBinders.UtilizationDetector),
        Beta(ConcurrencyDetector, PluginKinds.SaturationDetector | PluginKinds.Filter, "Saturation from in-flight requests (or tokens) against maxConcurrency; as a filter, drops endpoints over the limit.", BuiltInParameterBinders.ConcurrencyDetector),

        // Flow control policies: usable whenever declared (GIE registers them unconditionally); the flowControl gate switches queuing on.
        Beta(FcfsOrderingPolicy, PluginKinds.OrderingPolicy, "Orders a flow's queue first come, first served (the default)."),
        Beta(EdfOrderingPolicy, PluginKinds.OrderingPolicy, "Orders a flow's queue by earliest deadline (enqueue time + TTL)."),
        Beta(SloDeadlineOrderingPolicy, PluginKinds.OrderingPolicy, "Orders a flow's queue by deadline = arrival + the x-slo-ttft-ms header (requests without it last; FCFS tie-break)."),
        Beta(GlobalStrictFairnessPolicy, PluginKinds.FairnessPolicy, "Serves the best head request across a band's flows (the default)."),
        Beta(RoundRobinFairnessPolicy, PluginKinds.FairnessPolicy, "Serves a band's flows in turn."),
        Beta(StaticUsageLimitPolicy, PluginKinds.UsageLimitPolicy, "Lets bands dispatch while pool saturation is below a fixed threshold (default 1.0).", BuiltInParameterBinders.StaticUsageLimitPolicy),

        // Data layer.
        Stable(MetricsDataSource, PluginKinds.DataSource, "Scrapes each endpoint's Prometheus metrics.", BuiltInParameterBinders.MetricsDataSource),
        Stable(CoreMetricsExtractor, PluginKinds.DataExtractor, "Maps model-server metric names (vLLM, SGLang, trtllm-serve, Triton) to queue, running, KV-cache, LoRA and cache info, per engine label.", BuiltInParameterBinders.ModelServerMetricsExtractor),
        new PluginRegistration
        {
            TypeName = ModelServerProtocolMetrics,
            Kinds = PluginKinds.DataExtractor,
            Stability = StabilityLevel.Deprecated,
            Deprecation = new PluginDeprecation("GIE v1.5.0 calls this extractor core-metrics-extractor; the older name still loads here and behaves the same.", [CoreMetricsExtractor]),
            Description = "Former name of core-metrics-extractor.",
            Parameters = BuiltInParameterBinders.ModelServerMetricsExtractor,
        },
        Beta(K8sNotificationSource, PluginKinds.DataSource, "Watches one Kubernetes kind (group, version, kind) for extractors attached to it; no built-in extractor consumes it, so alone it has no effect.", BuiltInParameterBinders.K8sNotificationSource),
        Beta(EndpointNotificationSource, PluginKinds.DataSource, "Passes endpoint add/remove events to the extractors attached to it; no built-in extractor consumes it, so alone it has no effect."),

        // Body-based routing (configured in the body-based router, not the endpoint picker).
        Stable(BodyFieldToHeader, PluginKinds.BbrRequestProcessor, "Copies a top-level body field into a request header (model -> X-Gateway-Model-Name).", BuiltInParameterBinders.BodyFieldToHeader),
        Stable(BaseModelToHeader, PluginKinds.BbrRequestProcessor, "Sets X-Gateway-Base-Model-Name from the LoRA adapter's base model mapping."),

        // llm-d v0.10's prefill/decode disaggregation and data-parallel types.
        .. DisaggregationCatalog.Registrations(),

        // GIE v1.5.0's latency-predictor family: known names, refused with the reason.
        Unavailable("predicted-latency-scorer", PluginKinds.Scorer, "SLO-headroom scoring from the latency predictor (GIE's original monolithic plugin).", LatencyPredictorUnavailable),
        Unavailable("predicted-latency-producer", PluginKinds.DataProducer, "Produces per-endpoint TTFT/TPOT predictions from the latency predictor.", LatencyPredictorUnavailable),
        Unavailable("latency-slo-admitter", PluginKinds.Admission, "Rejects sheddable requests no endpoint can serve within their SLO headers.", LatencyPredictorUnavailable),
        Unavailable("prefix-cache-affinity-filter", PluginKinds.Filter, "Keeps prefix-sticky endpoints unless their predicted TTFT penalty is too high.", LatencyPredictorUnavailable),
        Unavailable("slo-headroom-tier-filter", PluginKinds.Filter, "Keeps endpoints with positive predicted SLO headroom.", LatencyPredictorUnavailable),
        Unavailable("latency-scorer", PluginKinds.Scorer, "Scores endpoints by predicted latency headroom.", LatencyPredictorUnavailable),

        // llm-d v0.10: parsers chosen by path, admission and flow control (issue 14, "admission" block).
        .. AdmissionRegistrations(),
        // llm-d v0.10 scorers, filters, profile handler and DCGM data source (BuiltInPlugins.LlmD.cs).
        .. LlmDSchedulingRegistrations(),
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

    private static PluginRegistration Alpha(string type, PluginKinds kinds, string description, IPluginParameterBinder? parameters = null) =>
        new() { TypeName = type, Kinds = kinds, Stability = StabilityLevel.Alpha, Description = description, Parameters = parameters ?? PluginParameterBinders.None };

    private static PluginRegistration Beta(string type, PluginKinds kinds, string description, IPluginParameterBinder? parameters = null) =>
        new() { TypeName = type, Kinds = kinds, Stability = StabilityLevel.Beta, Description = description, Parameters = parameters ?? PluginParameterBinders.None };

    /// <summary>A type known by name whose configs fail validation with <paramref name="reason"/>; its parameters are not checked.</summary>
    private static PluginRegistration Unavailable(string type, PluginKinds kinds, string description, string reason) =>
        new() { TypeName = type, Kinds = kinds, Stability = StabilityLevel.Beta, Description = description, Parameters = PluginParameterBinders.Any, Unavailable = reason };
}
