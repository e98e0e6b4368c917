using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Parameters;
using Runtime.Plugins.Registry;

namespace Runtime.Plugins.BuiltIn;

/// <summary>
/// The catalog entries of llm-d v0.10's prefill/decode disaggregation and data-parallel types: role and
/// label filters, deciders, profile handlers. Names and stability levels are those of llm-d's
/// <c>registerInTreePlugins</c>; what llm-d deprecated is Deprecated here with its replacement.
/// </summary>
internal static class DisaggregationCatalog
{
    public const string RoleLabel = "llm-d.ai/role";
    public const string PrefillHeader = "x-prefiller-host-port";
    public const string DataParallelHeader = "x-data-parallel-host-port";

    public const string LabelSelectorFilter = "label-selector-filter";
    public const string ByLabelSelector = "by-label-selector";
    public const string ByLabel = "by-label";
    public const string EncodeFilter = "encode-filter";
    public const string DecodeFilter = "decode-filter";
    public const string PrefillFilter = "prefill-filter";
    public const string DisaggProfileHandler = "disagg-profile-handler";
    public const string DisaggHeadersHandler = "disagg-headers-handler";
    public const string PrefillHeaderHandler = "prefill-header-handler";
    public const string PdProfileHandler = BuiltInPlugins.PdProfileHandler;
    public const string AlwaysDisaggPdDecider = "always-disagg-pd-decider";
    public const string PrefixBasedPdDecider = "prefix-based-pd-decider";
    public const string AlwaysDisaggMultimodalDecider = "always-disagg-multimodal-decider";
    public const string DataParallelProfileHandler = "data-parallel-profile-handler";

    private const string RemovedIn = "llm-d v0.9.0 deprecated it (removal planned for v0.11.0)";

    public static IEnumerable<PluginRegistration> Registrations() =>
    [
        Beta(LabelSelectorFilter, PluginKinds.Filter, "Keeps endpoints whose labels match a Kubernetes label selector (matchLabels, matchExpressions with In, NotIn, Exists, DoesNotExist); an empty selector keeps all.", DisaggregationBinders.LabelSelector),
        Deprecated(ByLabelSelector, PluginKinds.Filter, "Former name of label-selector-filter.", $"{RemovedIn}; it behaves as label-selector-filter.", [LabelSelectorFilter], DisaggregationBinders.LabelSelector),
        Deprecated(ByLabel, PluginKinds.Filter, "Keeps endpoints whose label 'label' has one of 'validValues' (or is absent, with allowsNoLabel).", $"{RemovedIn}; use label-selector-filter for label filtering, or decode-filter/prefill-filter/encode-filter for roles.", [LabelSelectorFilter], DisaggregationBinders.ByLabel),
        Beta(EncodeFilter, PluginKinds.Filter, "Keeps endpoints whose llm-d.ai/role label is encode, encode-prefill or encode-prefill-decode."),
        Beta(DecodeFilter, PluginKinds.Filter, "Keeps endpoints whose llm-d.ai/role label is decode, prefill-decode, both or encode-prefill-decode, and endpoints without the label."),
        Beta(PrefillFilter, PluginKinds.Filter, "Keeps endpoints whose llm-d.ai/role label is prefill, encode-prefill, prefill-decode, both or encode-prefill-decode."),
        Beta(DisaggProfileHandler, PluginKinds.ProfileHandler,
            "Prefill/decode disaggregation: runs the decode profile, asks deciders.prefill whether this request needs its own prefill, and if so runs the prefill profile; the decode pick is the destination and the prefill pick goes to its sidecar in x-prefiller-host-port. stageOrder prefill-first runs prefill (when that profile exists) then decode.",
            DisaggregationBinders.DisaggProfileHandler),
        Deprecated(DisaggHeadersHandler, PluginKinds.DataProducer, "Sets x-prefiller-host-port from the prefill profile's pick.", $"{RemovedIn}; disagg-profile-handler sets the header itself, so this plugin only repeats it.", [DisaggProfileHandler], DisaggregationBinders.DisaggHeadersHandler),
        Deprecated(PrefillHeaderHandler, PluginKinds.DataProducer, "Former name of disagg-headers-handler.", $"{RemovedIn}; disagg-profile-handler sets the header itself, so this plugin only repeats it.", [DisaggProfileHandler], DisaggregationBinders.DisaggHeadersHandler),
        Deprecated(PdProfileHandler, PluginKinds.ProfileHandler, "Alias of disagg-profile-handler configured with llm-d's older fields (decodeProfile, prefillProfile, deciderPluginName default prefix-based-pd-decider, primaryPort).", "llm-d v0.7.0 deprecated pd-profile-handler; it runs here as disagg-profile-handler.", [DisaggProfileHandler], DisaggregationBinders.PdProfileHandler),
        Beta(AlwaysDisaggPdDecider, PluginKinds.Decider, "Decider: every request gets a separate prefill."),
        Beta(PrefixBasedPdDecider, PluginKinds.Decider,
            "Decider: a separate prefill when the prompt is at least promptTokens and nonCachedTokens long and its part not cached on the picked decode endpoint is at least nonCachedTokens (0 switches it off). Tokens are estimated as 4 bytes of the prompt each, as the approx prefix producer counts them (llm-d's default estimate token producer does the same), and the cached part is the decode endpoint's matched blocks x block size from that producer.",
            DisaggregationBinders.PrefixBasedPdDecider),
        new PluginRegistration
        {
            TypeName = AlwaysDisaggMultimodalDecider,
            Kinds = PluginKinds.Decider,
            Stability = StabilityLevel.Beta,
            Description = "Decider for the encode stage of multimodal requests (E/P/D).",
            Parameters = PluginParameterBinders.Any,
            Unavailable = DisaggProfileHandlerBinder.EncodeUnavailable,
        },
        Deprecated(DataParallelProfileHandler, PluginKinds.ProfileHandler,
            "Data parallel: one pod serves several ranks, each an endpoint on its own port; the pick's host:port goes in x-data-parallel-host-port and the request is sent to primaryPort (default 8000) on the same host, where the sidecar forwards it to the rank.",
            "llm-d v0.10 logs \"Deprecated: Use simple-profile-handler with Istio >= 1.28.1\" (its README names single-profile-handler); ranks can then be endpoints reached directly.",
            [BuiltInPlugins.SingleProfileHandler], DisaggregationBinders.DataParallelProfileHandler),
    ];

    private static PluginRegistration Beta(string type, PluginKinds kinds, string description, IPluginParameterBinder? parameters = null) =>
        new() { TypeName = type, Kinds = kinds, Stability = StabilityLevel.Beta, Description = description, Parameters = parameters ?? PluginParameterBinders.None };

    private static PluginRegistration Deprecated(string type, PluginKinds kinds, string description, string guidance, string[] replacements, IPluginParameterBinder parameters) =>
        new()
        {
            TypeName = type,
            Kinds = kinds,
            Stability = StabilityLevel.Deprecated,
            Deprecation = new PluginDeprecation(guidance, replacements),
            Description = description,
            Parameters = parameters,
        };
}
