using System.Text.Json.Serialization;
using Runtime.Plugins.Values;

namespace Runtime.Configuration.Model;

/// <summary>
/// Flow control: global limits, the request TTL, the usage-limit policy, and priority bands
/// (explicit ones, plus a template for priorities that arrive without one).
/// </summary>
/// <remarks>
/// Lists default to empty through constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
public sealed record FlowControlConfig(IReadOnlyList<PriorityBandConfig>? PriorityBands = null)
{
    /// <summary>Upper bound of <see cref="ShardCount"/>.</summary>
    public const int MaxShardCount = 1024;

    /// <summary>Bytes of queued request bodies across all bands; absent or 0 = no global limit.</summary>
    [JsonPropertyName("maxBytes")]
    public Quantity? MaxBytes { get; init; }

    /// <summary>Queued requests across all bands; absent or 0 = no global limit.</summary>
    [JsonPropertyName("maxRequests")]
    public Quantity? MaxRequests { get; init; }

    /// <summary>How long a request may wait in a queue; absent or 0 = until the client gives up.</summary>
    [JsonPropertyName("defaultRequestTTL")]
    public Duration? DefaultRequestTtl { get; init; }

    /// <summary>Name of the usage-limit policy plugin (default <c>static-usage-limit-policy</c>).</summary>
    [JsonPropertyName("usageLimitPolicyPluginRef")]
    public string? UsageLimitPolicyPluginRef { get; init; }

    /// <summary>Template for bands provisioned on demand for priorities not listed in <see cref="PriorityBands"/>.</summary>
    [JsonPropertyName("defaultPriorityBand")]
    public PriorityBandConfig? DefaultPriorityBand { get; init; }

    [JsonPropertyName("priorityBands")]
    public IReadOnlyList<PriorityBandConfig> PriorityBands { get; init; } = PriorityBands ?? [];

    /// <summary>llm-d v0.10: the saturation detector moved here; the top-level one is used when this is absent.</summary>
    [JsonPropertyName("saturationDetector")]
    public SaturationDetectorConfig? SaturationDetector { get; init; }

    /// <summary>llm-d v0.10: evict running sheddable requests under pressure (default false). Not implemented here: true is reported and ignored.</summary>
    [JsonPropertyName("enableEviction")]
    public bool? EnableEviction { get; init; }

    /// <summary>llm-d v0.10: template for negative (sheddable) priorities. Accepted; this build provisions them from <see cref="DefaultPriorityBand"/>.</summary>
    [JsonPropertyName("defaultNegativePriorityBand")]
    public PriorityBandConfig? DefaultNegativePriorityBand { get; init; }

    // The fields below are our extension of GIE's section (GIE has no equivalent; they were host options only).

    /// <summary>
    /// What a request gets when the control plane has not provisioned its priority:
    /// <c>JustInTime</c> (default) creates the band from <see cref="DefaultPriorityBand"/>;
    /// <c>DemoteToZero</c> queues it in band 0, and it keeps priority 0 end to end.
    /// </summary>
    [JsonPropertyName("unprovisionedPriorityPolicy")]
    public string? UnprovisionedPriorityPolicy { get; init; }

    /// <summary>Independent dispatchers (1 to <see cref="MaxShardCount"/>, default 1); a flow lives in one shard.</summary>
    [JsonPropertyName("shardCount")]
    public int? ShardCount { get; init; }

    /// <summary>How long an empty flow is kept before it is forgotten (default 5m, as GIE).</summary>
    [JsonPropertyName("flowIdleTimeout")]
    public Duration? FlowIdleTimeout { get; init; }
}

/// <summary>The values <see cref="FlowControlConfig.UnprovisionedPriorityPolicy"/> accepts.</summary>
public static class UnprovisionedPriorityPolicyNames
{
    public const string JustInTime = "JustInTime";

    public const string DemoteToZero = "DemoteToZero";

    public static IReadOnlyList<string> All { get; } = [JustInTime, DemoteToZero];
}

/// <summary>One priority band (higher priority is served first) and its limits and policies.</summary>
public sealed record PriorityBandConfig
{
    /// <summary>Required in <c>priorityBands</c>; meaningless (ignored) in the template.</summary>
    [JsonPropertyName("priority")]
    public int? Priority { get; init; }

    /// <summary>Bytes of queued bodies in this band (default 1 GiB).</summary>
    [JsonPropertyName("maxBytes")]
    public Quantity? MaxBytes { get; init; }

    [JsonPropertyName("maxRequests")]
    public Quantity? MaxRequests { get; init; }

    /// <summary>Name of the fairness policy plugin choosing among flows (default <c>global-strict-fairness-policy</c>).</summary>
    [JsonPropertyName("fairnessPolicyRef")]
    public string? FairnessPolicyRef { get; init; }

    /// <summary>Name of the ordering policy plugin ordering each flow's queue (default <c>fcfs-ordering-policy</c>).</summary>
    [JsonPropertyName("orderingPolicyRef")]
    public string? OrderingPolicyRef { get; init; }
}
