using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Configuration.Model;
using Runtime.FlowControl.Policies;
using Runtime.Plugins.Saturation;

namespace Runtime.FlowControl;

/// <summary>What happens to a request whose priority has no (active) band.</summary>
internal enum UnprovisionedPriorityPolicy
{
    /// <summary>Create the band now from <see cref="FlowControlOptions.DefaultPriorityBand"/> (the default).</summary>
    JustInTime,

    /// <summary>Queue the request in band 0; its effective priority becomes 0 end to end.</summary>
    DemoteToZero,
}

/// <summary>Limits and policies of one priority band (also the template for bands created on demand).</summary>
internal sealed record PriorityBandOptions
{
    public const long DefaultMaxBytes = 1L << 30;

    public int Priority { get; init; }

    /// <summary>Bytes queued in this band across shards; 0 = no limit. Default 1 GiB.</summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>Requests queued in this band across shards; 0 = no limit.</summary>
    public long MaxRequests { get; init; }

    public IOrderingPolicy OrderingPolicy { get; init; } = FcfsOrderingPolicy.Instance;

    public IFairnessPolicy FairnessPolicy { get; init; } = GlobalStrictFairnessPolicy.Instance;
}

/// <summary>
/// Flow control settings: the <c>flowControl</c> config section maps onto this (quantities and
/// durations already parsed; policy refs resolved to instances).
/// </summary>
internal sealed record FlowControlOptions
{
    public static readonly TimeSpan DefaultFlowIdleTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Bytes queued across all bands; 0 = no limit.</summary>
    public long MaxBytes { get; init; }

    /// <summary>Requests queued across all bands; 0 = no limit.</summary>
    public long MaxRequests { get; init; }

    /// <summary>TTL for requests that bring none; <see cref="TimeSpan.Zero"/> = wait until cancelled.</summary>
    public TimeSpan DefaultRequestTtl { get; init; }

    /// <summary>Template for bands created just in time or by the control plane (its Priority is ignored).</summary>
    public PriorityBandOptions DefaultPriorityBand { get; init; } = new();

    /// <summary>Static bands: created at start and never removed (band 0 is never removed either).</summary>
    public IReadOnlyList<PriorityBandOptions> PriorityBands { get; init; } = [];

    public UnprovisionedPriorityPolicy UnprovisionedPriority { get; init; } = UnprovisionedPriorityPolicy.JustInTime;

    public IUsageLimitPolicy UsageLimitPolicy { get; init; } = StaticUsageLimitPolicy.Default;

    /// <summary>
    /// Independent dispatchers at start (<see cref="FlowController.SetShardCount"/> changes it at
    /// run time); a flow lives in one shard (chosen by its fairness id), so FCFS within a flow is
    /// exact, while priority order and fairness hold per shard. Default 1.
    /// </summary>
    public int ShardCount { get; init; } = 1;

    /// <summary>An empty flow is forgotten after this long (GIE: 5 minutes).</summary>
    public TimeSpan FlowIdleTimeout { get; init; } = DefaultFlowIdleTimeout;

    /// <summary>Returns every problem with these options (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxBytes < 0)
        {
            errors.Add("maxBytes: must not be negative");
        }

        if (MaxRequests < 0)
        {
            errors.Add("maxRequests: must not be negative");
        }

        if (DefaultRequestTtl < TimeSpan.Zero)
        {
            errors.Add("defaultRequestTTL: must not be negative");
        }

        if (ShardCount is < 1 or > FlowControlConfig.MaxShardCount)
        {
            errors.Add($"shardCount: must be between 1 and {FlowControlConfig.MaxShardCount}");
        }

        if (FlowIdleTimeout <= TimeSpan.Zero)
        {
            errors.Add("flowIdleTimeout: must be positive");
        }

        ValidateBand("defaultPriorityBand", DefaultPriorityBand, errors);
        var seen = new HashSet<int>();
        for (int i = 0; i < PriorityBands.Count; i++)
        {
            ValidateBand($"priorityBands[{i}]", PriorityBands[i], errors);
            if (!seen.Add(PriorityBands[i].Priority))
            {
                errors.Add($"priorityBands[{i}].priority: {PriorityBands[i].Priority} is listed twice");
            }
        }

        return errors;
    }

    private static void ValidateBand(string path, PriorityBandOptions band, List<string> errors)
    {
        if (band.MaxBytes < 0)
        {
            errors.Add($"{path}.maxBytes: must not be negative");
        }

        if (band.MaxRequests < 0)
        {
            errors.Add($"{path}.maxRequests: must not be negative");
        }
    }
}

/// <summary>The collaborators of a <see cref="FlowController"/> that are not configuration.</summary>
internal sealed record FlowControlDependencies
{
    public ISaturationDetector SaturationDetector { get; init; } = NeverSaturatedDetector.Instance;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where a dispatch cycle that threw (a policy or detector bug) is reported; it is also counted in <c>runtime_swallowed_errors_total</c>.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;
}
