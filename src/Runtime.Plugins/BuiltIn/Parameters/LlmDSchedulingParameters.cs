using System.Globalization;
using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

// Parameters of llm-d v0.10's scorers, filters and profile handler (names, defaults and messages as
// llm-d's factories have them). Defaults live in constructor parameters: the JSON source generator
// drops initialisers of absent init-only properties (dotnet/runtime#84484).

/// <summary><c>active-request-scorer</c>: in-flight requests per endpoint, idle endpoints preferred.</summary>
internal sealed record ActiveRequestScorerParameters(double MaxBusyScore = 1.0)
{
    /// <summary>Deprecated in llm-d (in-flight tracking moved to the producer): accepted, ignored with a warning.</summary>
    [JsonPropertyName("requestTimeout")]
    public string? RequestTimeout { get; init; }

    /// <summary>Endpoints with at most this many requests in flight score 1 (default 0; negative counts as 0, as llm-d).</summary>
    [JsonPropertyName("idleThreshold")]
    public int IdleThreshold { get; init; }

    /// <summary>The best score of a busy endpoint, in [0, 1] (default 1; out of range falls back to 1, as llm-d).</summary>
    [JsonPropertyName("maxBusyScore")]
    public double MaxBusyScore { get; init; } = MaxBusyScore;

    /// <summary>llm-d: which in-flight producer to read; here the request path always keeps the counts.</summary>
    [JsonPropertyName("inFlightLoadProducerName")]
    public string? InFlightLoadProducerName { get; init; }

    [JsonIgnore]
    public double EffectiveMaxBusyScore => MaxBusyScore is >= 0 and <= 1 ? MaxBusyScore : 1.0;

    internal static void Rules(ActiveRequestScorerParameters p, string path, ValidationErrors errors)
    {
        if (!string.IsNullOrEmpty(p.RequestTimeout))
        {
            errors.Warn(FieldPath.Field(path, "requestTimeout"), "ignored: requestTimeout is deprecated in llm-d; in-flight requests are counted from the pick until the response ends");
        }

        if (p.IdleThreshold < 0)
        {
            errors.Warn(FieldPath.Field(path, "idleThreshold"), $"negative ({p.IdleThreshold}): using 0, as llm-d does");
        }

        if (p.MaxBusyScore is < 0 or > 1 || double.IsNaN(p.MaxBusyScore))
        {
            errors.Warn(FieldPath.Field(path, "maxBusyScore"), $"out of range [0, 1] ({p.MaxBusyScore.ToString(CultureInfo.InvariantCulture)}): using the default 1.0, as llm-d does");
        }
    }
}

/// <summary><c>load-aware-scorer</c>: waiting-queue length against <c>threshold</c>.</summary>
internal sealed record LoadAwareScorerParameters(int Threshold = LoadAwareScorerParameters.DefaultThreshold)
{
    public const int DefaultThreshold = 128;

    [JsonPropertyName("threshold")]
    public int Threshold { get; init; } = Threshold;

    [JsonIgnore]
    public int EffectiveThreshold => Threshold > 0 ? Threshold : DefaultThreshold;

    internal static void Rules(LoadAwareScorerParameters p, string path, ValidationErrors errors)
    {
        if (p.Threshold <= 0)
        {
            errors.Warn(FieldPath.Field(path, "threshold"), $"queueThreshold {p.Threshold} should be positive, using default queue threshold {DefaultThreshold}");
        }
    }
}

/// <summary><c>no-hit-lru-scorer</c>: spreads cold (no prefix hit anywhere) requests to the least recently used endpoints.</summary>
internal sealed record NoHitLruScorerParameters(int LruSize = NoHitLruScorerParameters.DefaultLruSize)
{
    public const int DefaultLruSize = 1024;

    /// <summary>Accepted for llm-d compatibility (older configs name the prefix plugin); the producer is chosen by prefixMatchInfoProducerName.</summary>
    [JsonPropertyName("prefixPluginType")]
    public string? PrefixPluginType { get; init; }

    [JsonPropertyName("prefixPluginName")]
    public string? PrefixPluginName { get; init; }

    /// <summary>Endpoints remembered (default 1024; 0 or less means the default, as llm-d).</summary>
    [JsonPropertyName("lruSize")]
    public int LruSize { get; init; } = LruSize;

    [JsonPropertyName("prefixMatchInfoProducerName")]
    public string? PrefixMatchInfoProducerName { get; init; }

    [JsonIgnore]
    public int EffectiveLruSize => LruSize > 0 ? LruSize : DefaultLruSize;
}

/// <summary><c>session-affinity-scorer</c> and <c>session-affinity-filter</c>.</summary>
internal sealed record SessionAffinityParameters(string Strategy = SessionAffinityParameters.EncodedEndpointHeader)
{
    public const string EncodedEndpointHeader = "encoded_endpoint_header";
    public const string SessionId = "session_id";
    public const string DefaultHeader = "x-session-token";
    public const string DefaultSessionIdHeader = "x-session-id";
    public const double DefaultEvictionTtlSeconds = 300;
    public const double DefaultEvictionSweepSeconds = 10;

    [JsonPropertyName("strategy")]
    public string Strategy { get; init; } = Strategy;

    [JsonPropertyName("encodedEndpointHeaderConfig")]
    public EncodedEndpointHeaderConfig? EncodedEndpointHeaderConfig { get; init; }

    [JsonPropertyName("sessionIdConfig")]
    public SessionIdConfig? SessionIdConfig { get; init; }

    /// <summary>The profile whose pick the plugin binds to (empty: the request's primary pick).</summary>
    [JsonPropertyName("profileName")]
    public string? ProfileName { get; init; }

    /// <summary>The header carrying the token, lower-case and trimmed (default x-session-token).</summary>
    [JsonIgnore]
    public string EffectiveHeader => EncodedEndpointHeaderConfig?.Header?.Trim().ToLowerInvariant() is { Length: > 0 } header ? header : DefaultHeader;

    internal static void Rules(SessionAffinityParameters p, string path, ValidationErrors errors)
    {
        switch (p.Strategy)
        {
            case EncodedEndpointHeader:
                return;
            case SessionId:
                break;
            default:
                errors.Report(FieldPath.Field(path, "strategy"), $"strategy must be \"{EncodedEndpointHeader}\" or \"{SessionId}\", got \"{p.Strategy}\"");
                return;
        }

        var config = FieldPath.Field(path, "sessionIdConfig");
        var sources = p.SessionIdConfig?.Sources ?? [];
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is not { } source || string.IsNullOrEmpty(source.Header) == string.IsNullOrEmpty(source.Attribute))
            {
                errors.Report(FieldPath.Index(FieldPath.Field(config, "sources"), i), "exactly one of header or attribute must be set");
            }
        }

        if (p.SessionIdConfig?.EvictionTtlSeconds is < 0 and var ttl)
        {
            errors.Report(FieldPath.Field(config, "evictionTtlSeconds"), $"evictionTtlSeconds must be > 0, got {ttl.ToString(CultureInfo.InvariantCulture)}");
        }

        if (p.SessionIdConfig?.EvictionSweepSeconds is < 0 and var sweep)
        {
            errors.Report(FieldPath.Field(config, "evictionSweepSeconds"), $"evictionSweepSeconds must be > 0, got {sweep.ToString(CultureInfo.InvariantCulture)}");
        }
    }
}

internal sealed record EncodedEndpointHeaderConfig
{
    [JsonPropertyName("header")]
    public string? Header { get; init; }
}

internal sealed record SessionIdConfig
{
    /// <summary>Where the session id is read from, in priority order (default: the x-session-id header).</summary>
    [JsonPropertyName("sources")]
    public IReadOnlyList<SessionIdSource>? Sources { get; init; }

    /// <summary>How long an unused binding lives (0 = the default 300).</summary>
    [JsonPropertyName("evictionTtlSeconds")]
    public double EvictionTtlSeconds { get; init; }

    /// <summary>How often expired bindings are swept (0 = the default 10).</summary>
    [JsonPropertyName("evictionSweepSeconds")]
    public double EvictionSweepSeconds { get; init; }
}

internal sealed record SessionIdSource
{
    [JsonPropertyName("header")]
    public string? Header { get; init; }

    /// <summary>A request attribute published by another plugin (e.g. agent-identity).</summary>
    [JsonPropertyName("attribute")]
    public string? Attribute { get; init; }
}

/// <summary><c>context-length-aware</c>: endpoints labelled with the context-length range they serve.</summary>
internal sealed record ContextLengthAwareParameters(string? Label = ContextLengthAwareParameters.DefaultLabel)
{
    public const string DefaultLabel = "llm-d.ai/context-length-range";

    [JsonPropertyName("label")]
    public string? Label { get; init; } = Label;

    /// <summary>Also act as a filter: drop labelled endpoints whose range does not hold the request.</summary>
    [JsonPropertyName("enableFiltering")]
    public bool EnableFiltering { get; init; }

    internal static void Rules(ContextLengthAwareParameters p, string path, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(p.Label))
        {
            errors.Report(FieldPath.Field(path, "label"), "invalid configuration for 'context-length-aware' plugin: 'label' must be specified");
        }
    }
}

/// <summary><c>header-profile-handler</c>: the request header names the one profile to run.</summary>
internal sealed record HeaderProfileHandlerParameters
{
    public const string DefaultHeaderName = "epp-profile";
    public const string DefaultProfileName = "decode";

    [JsonPropertyName("headerName")]
    public string? HeaderName { get; init; }

    [JsonPropertyName("defaultProfile")]
    public string? DefaultProfile { get; init; }

    [JsonIgnore]
    public string EffectiveHeaderName => HeaderName?.Trim().ToLowerInvariant() is { Length: > 0 } name ? name : DefaultHeaderName;

    [JsonIgnore]
    public string EffectiveDefaultProfile => DefaultProfile?.Trim() is { Length: > 0 } name ? name : DefaultProfileName;
}
