using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Registry;

namespace Runtime.Plugins.BuiltIn;

/// <summary>
/// llm-d v0.10's scorers, filters, the header profile handler and the DCGM data source, with the
/// stability levels llm-d's <c>registerInTreePlugins</c> declares (Alpha ones load only with
/// <c>--allow-experimental-plugins</c>).
/// </summary>
internal static partial class BuiltInPlugins
{
    public const string ActiveRequestScorer = "active-request-scorer";
    public const string LoadAwareScorer = "load-aware-scorer";
    public const string NoHitLruScorer = "no-hit-lru-scorer";
    public const string SessionAffinityScorer = "session-affinity-scorer";
    public const string SessionAffinityFilter = "session-affinity-filter";
    public const string ContextLengthAware = "context-length-aware";
    public const string HeaderProfileHandler = "header-profile-handler";
    public const string EndpointAttributeFilter = "endpoint-attribute-filter";
    public const string EndpointAttributeScorer = "endpoint-attribute-scorer";
    public const string DcgmDataSource = "dcgm-data-source";
    public const string DcgmExtractor = "dcgm-extractor";

    /// <summary>The attribute key the DCGM extractor publishes (llm-d's <c>GPUUtilization/dcgm-extractor</c>).</summary>
    public const string GpuUtilizationAttribute = "GPUUtilization/dcgm-extractor";

    private static IEnumerable<PluginRegistration> LlmDSchedulingRegistrations() =>
    [
        Beta(ActiveRequestScorer, PluginKinds.Scorer, "Prefers endpoints with fewer requests in flight from this picker: (max − n) / max × maxBusyScore; endpoints at or under idleThreshold score 1.", BuiltInParameterBinders.ActiveRequestScorer),
        Beta(LoadAwareScorer, PluginKinds.Scorer, "Prefers short waiting queues: an empty queue scores 0.5, otherwise 0.5 × (1 − min(queue, threshold) / threshold).", BuiltInParameterBinders.LoadAwareScorer),
        Beta(NoHitLruScorer, PluginKinds.Scorer, "For requests no endpoint has a prefix hit for, prefers the endpoints least recently sent such a cold request (never used first); others score 0.5 everywhere. Reads the prefix producer's matches.", BuiltInParameterBinders.NoHitLruScorer),
        Alpha(SessionAffinityScorer, PluginKinds.Scorer, "Scores 1 the endpoint the session is pinned to: by default the base64 endpoint name in x-session-token, which it sets on every response; or (strategy session_id) a server-side binding of x-session-id to the endpoint that served it.", BuiltInParameterBinders.SessionAffinity),
        Alpha(SessionAffinityFilter, PluginKinds.Filter, "The hard form of session-affinity-scorer: keeps only the pinned endpoint when it is a candidate (all candidates otherwise); same parameters and response header.", BuiltInParameterBinders.SessionAffinity),
        Beta(ContextLengthAware, PluginKinds.Scorer | PluginKinds.Filter, "Matches the prompt's estimated tokens (bytes / 4) to endpoints labelled llm-d.ai/context-length-range=min-max: in range scores 0.3–1 (narrower ranges and more headroom higher), out of range under 0.3, unlabelled 0.5; with enableFiltering, drops labelled endpoints out of range.", BuiltInParameterBinders.ContextLengthAware),
        Alpha(HeaderProfileHandler, PluginKinds.ProfileHandler, "Runs the one scheduling profile the request header (default EPP-Profile) names, or defaultProfile (default decode) without it; an unknown name fails scheduling.", BuiltInParameterBinders.HeaderProfileHandler),
        Alpha(EndpointAttributeFilter, PluginKinds.Filter, "Keeps endpoints whose numeric attribute (e.g. GPUUtilization/dcgm-extractor) passes a threshold; onMissing Pass/Fail; fallbackOnEmpty keeps all when none passes.", BuiltInParameterBinders.EndpointAttributeFilter),
        Alpha(EndpointAttributeScorer, PluginKinds.Scorer, "Scores endpoints linearly by a numeric attribute (linear_lower_is_better or linear_higher_is_better), normalised over a fixed range or the candidates' own range; missing scores 0.", BuiltInParameterBinders.EndpointAttributeScorer),
        Alpha(DcgmDataSource, PluginKinds.DataSource, "Scrapes each endpoint's NVIDIA DCGM exporter page (default http://<pod>:9400/metrics; useNodeAddress is refused) for the dcgm-extractor attached to it in the dataLayer section.", BuiltInParameterBinders.DcgmDataSource),
        Alpha(DcgmExtractor, PluginKinds.DataExtractor, "Publishes each endpoint's GPU utilisation as attribute GPUUtilization/dcgm-extractor: the highest DCGM_FI_DEV_GPU_UTIL of its GPUs (samples of other pods skipped) / 100."),
    ];
}
