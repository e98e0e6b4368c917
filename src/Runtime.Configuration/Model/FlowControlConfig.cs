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
