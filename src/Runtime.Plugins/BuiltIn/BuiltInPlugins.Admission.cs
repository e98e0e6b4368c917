using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Registry;

namespace Runtime.Plugins.BuiltIn;

/// <summary>
/// llm-d v0.10's parsers chosen by path, admission and flow-control types (names and stability as its
/// <c>registerInTreePlugins</c>), and the llm-d types this build does not include, refused with the reason.
/// </summary>
internal static partial class BuiltInPlugins
{
    public const string ProbabilisticAdmitter = "probabilistic-admitter";
    public const string ProgramAwareFairness = "program-aware-fairness";
    public const string SoftReflectiveCeilingPolicy = "soft-reflective-ceiling-policy";
    public const string AgentIdentity = "agent-identity";

    private const string PrecisePrefixUnavailable =
        "it is llm-d's precise prefix cache, fed by the model servers' KV-cache events (ZMQ) and a tokenizer; this build does not include that integration. Use prefix-cache-scorer (with approx-prefix-cache-producer) instead";

    private const string TokenizerUnavailable =
        "llm-d's tokenization (the vLLM render sidecar or an embedded tokenizer) is not included in this build; plugins here estimate tokens from the prompt bytes. Remove it (and its references)";

    private const string MultimodalUnavailable =
        "llm-d's multimodal embeddings cache (encode disaggregation, E/P/D) is not included in this build. Remove it (and its profile references)";

    private static IEnumerable<PluginRegistration> AdmissionRegistrations() =>
    [
        Beta(AnthropicParser, PluginKinds.Parser, "Parses the Anthropic Messages API (/v1/messages): model, stream, and system + messages as the prompt for prefix affinity; /v1/messages/count_tokens passes unread. In an llm-d config the parsers are chosen by path."),
        Beta(VllmHttpParser, PluginKinds.Parser, "Parses vLLM's token-in HTTP API (/inference/v1/generate): non-empty token_ids (the prompt), optional model, stream."),

        Beta(ProbabilisticAdmitter, PluginKinds.Admission, "Sheds sheddable requests (priority < 0) before scheduling with probability min(saturation^power * k, 1), saturation = mean over endpoints of max(queue / queueDepthThreshold, KV use / kvCacheUtilThreshold); others always pass (429 when shed).", AdmissionParameterBinders.ProbabilisticAdmitter),
        Beta(ProgramAwareFairness, PluginKinds.FairnessPolicy, "Serves a band's flows (programs = fairness ids) by least attained service: tokens their completed requests used (input + 2 x output), decayed while idle, with head-of-queue wait as tie-breaker.", AdmissionParameterBinders.ProgramAwareFairness),
        Alpha(SoftReflectiveCeilingPolicy, PluginKinds.UsageLimitPolicy, "Gates lower-priority bands first as saturation rises: band i of N may dispatch below 1 - i*saturation/(N-1), then on a duty cycle of 1 in round(s/(1-s)); the highest band is never gated."),
        Alpha(AgentIdentity, PluginKinds.Admission, "Takes a request's fairness id (flow-control queue) from agent session headers (additionalSessionHeaders, then x-claude-code-session-id, x-session-affinity, session-id, session_id) when x-llm-d-inference-fairness-id is absent.", AdmissionParameterBinders.AgentIdentity),

        Unavailable("precise-prefix-cache-scorer", PluginKinds.Scorer, "llm-d: scores endpoints by the prompt blocks their KV-cache events report.", PrecisePrefixUnavailable),
        Unavailable("precise-prefix-cache-producer", PluginKinds.DataProducer, "llm-d: indexes the model servers' KV-cache events for precise-prefix-cache-scorer.", PrecisePrefixUnavailable),
        Unavailable("burst-prefix-cache-producer", PluginKinds.DataProducer, "llm-d: precise prefix index tuned for bursts of shared prompts (KV-cache events).", PrecisePrefixUnavailable) with { Stability = StabilityLevel.Alpha },
        Unavailable("token-producer", PluginKinds.DataProducer, "llm-d: tokenizes the prompt (TokenizedPrompt) for token-aware plugins.", TokenizerUnavailable),
        Unavailable("tokenizer", PluginKinds.DataProducer, "llm-d: former name of token-producer (deprecated in v0.9.0).", TokenizerUnavailable),
        Unavailable("mm-embeddings-cache-scorer", PluginKinds.Scorer, "llm-d: prefers endpoints holding the request's multimodal embeddings.", MultimodalUnavailable),
        Unavailable("mm-embeddings-cache-producer", PluginKinds.DataProducer, "llm-d: tracks which endpoint holds which multimodal embeddings.", MultimodalUnavailable),
    ];
}
