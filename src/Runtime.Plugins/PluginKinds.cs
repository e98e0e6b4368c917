namespace Runtime.Plugins;

/// <summary>The extension points a plugin type serves. Flags: some plugins serve several (a detector that also filters).</summary>
[Flags]
public enum PluginKinds
{
    None = 0,
    Parser = 1 << 0,
    Filter = 1 << 1,
    Scorer = 1 << 2,
    Picker = 1 << 3,
    ProfileHandler = 1 << 4,
    DataSource = 1 << 5,
    DataExtractor = 1 << 6,
    SaturationDetector = 1 << 7,
    OrderingPolicy = 1 << 8,
    FairnessPolicy = 1 << 9,
    UsageLimitPolicy = 1 << 10,
    BbrRequestProcessor = 1 << 11,
    BbrResponseProcessor = 1 << 12,

    /// <summary>Computes per-request data before scheduling or records the pick after it (GIE's PrepareData / PreRequest).</summary>
    DataProducer = 1 << 13,

    /// <summary>Acts on the response: headers or the finished body (GIE's ResponseHeader / ResponseBody extension points).</summary>
    ResponseHook = 1 << 14,

    /// <summary>Admits or rejects a request before it is queued or scheduled.</summary>
    Admission = 1 << 15,

    /// <summary>Decides whether a request gets a separate stage (llm-d's prefill/decode deciders), referenced by a profile handler.</summary>
    Decider = 1 << 24,

    /// <summary>What a scheduling profile's plugin list may hold.</summary>
    SchedulingProfilePlugins = Filter | Scorer | Picker,

    /// <summary>The body-based router's processors; they belong in its own configuration, not the endpoint picker's.</summary>
    BodyBasedRouting = BbrRequestProcessor | BbrResponseProcessor,
}

/// <summary>Stable, user-facing names of <see cref="PluginKinds"/> (used in listings and messages).</summary>
public static class PluginKindNames
{
    private static readonly (PluginKinds Kind, string Name, string Article)[] s_names =
    [
        (PluginKinds.Parser, "parser", "a"),
        (PluginKinds.Filter, "filter", "a"),
        (PluginKinds.Scorer, "scorer", "a"),
        (PluginKinds.Picker, "picker", "a"),
        (PluginKinds.ProfileHandler, "profile-handler", "a"),
        (PluginKinds.DataSource, "data-source", "a"),
        (PluginKinds.DataExtractor, "data-extractor", "a"),
        (PluginKinds.SaturationDetector, "saturation-detector", "a"),
        (PluginKinds.OrderingPolicy, "ordering-policy", "an"),
        (PluginKinds.FairnessPolicy, "fairness-policy", "a"),
        (PluginKinds.UsageLimitPolicy, "usage-limit-policy", "a"),
        (PluginKinds.BbrRequestProcessor, "bbr-request-processor", "a"),
        (PluginKinds.BbrResponseProcessor, "bbr-response-processor", "a"),
        (PluginKinds.DataProducer, "data-producer", "a"),
        (PluginKinds.ResponseHook, "response-hook", "a"),
        (PluginKinds.Admission, "admission", "an"),
        (PluginKinds.Decider, "decider", "a"),
    ];

    public static IReadOnlyList<string> Of(PluginKinds kinds) =>
        s_names.Where(n => (kinds & n.Kind) != 0).Select(n => n.Name).ToArray();

    /// <summary>"a scorer", "a saturation-detector and filter".</summary>
    public static string Describe(PluginKinds kinds)
    {
        var names = s_names.Where(n => (kinds & n.Kind) != 0).ToArray();
        return names.Length == 0 ? "no kind" : $"{names[0].Article} {string.Join(" and ", names.Select(n => n.Name))}";
    }
}
