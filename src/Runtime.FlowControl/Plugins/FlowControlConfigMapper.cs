using Runtime.Configuration.Model;
using Runtime.FlowControl.Policies;
using Runtime.Plugins;
using Runtime.Plugins.Validation;

namespace Runtime.FlowControl.Plugins;

/// <summary>
/// Maps the config's <c>flowControl</c> section (already parsed and validated by the loader) onto
/// <see cref="FlowControlOptions"/>, resolving policy refs to the activated plugin instances. A ref
/// that names no declared plugin but is a built-in policy type gets that type with defaults, as
/// GIE does for its default policies.
/// </summary>
internal static class FlowControlConfigMapper
{
    public const string SectionPath = "flowControl";

    /// <summary>llm-d v0.10's default request TTL (an explicit 0 disables it); GIE v1.5.0 has none.</summary>
    public static readonly TimeSpan LlmDDefaultRequestTtl = TimeSpan.FromSeconds(60);

    /// <summary>llm-d v0.10's per-band request bound (0 or omitted means this); GIE v1.5.0's bands are unbounded in count.</summary>
    public const long LlmDDefaultBandMaxRequests = 5000;

    public static FlowControlOptions Map(FlowControlConfig? config, IReadOnlyDictionary<string, IPlugin> plugins, ValidationErrors errors, ConfigDialect dialect = ConfigDialect.Gie)
    {
        var llmD = dialect == ConfigDialect.LlmD;
        if (config is null)
        {
            return llmD
                ? new FlowControlOptions { DefaultRequestTtl = LlmDDefaultRequestTtl, DefaultPriorityBand = new PriorityBandOptions { MaxRequests = LlmDDefaultBandMaxRequests } }
                : new FlowControlOptions();
        }

        var options = new FlowControlOptions
        {
            MaxBytes = config.MaxBytes?.Value ?? 0,
            MaxRequests = config.MaxRequests?.Value ?? 0,
            DefaultRequestTtl = config.DefaultRequestTtl?.Value ?? (llmD ? LlmDDefaultRequestTtl : TimeSpan.Zero),
            UnprovisionedPriority = MapUnprovisioned(config.UnprovisionedPriorityPolicy, errors),
            ShardCount = config.ShardCount ?? 1,
            FlowIdleTimeout = config.FlowIdleTimeout?.Value ?? FlowControlOptions.DefaultFlowIdleTimeout,
            UsageLimitPolicy = Resolve<IUsageLimitPolicy>(config.UsageLimitPolicyPluginRef, $"{SectionPath}.usageLimitPolicyPluginRef", plugins, errors)
                ?? StaticUsageLimitPolicy.Default,
            DefaultPriorityBand = MapBand(config.DefaultPriorityBand, $"{SectionPath}.defaultPriorityBand", plugins, errors, priority: 0, llmD),
            PriorityBands = config.PriorityBands
                .Select((band, i) =>
                {
                    string path = $"{SectionPath}.priorityBands[{i}]";
                    if (band.Priority is null)
                    {
                        errors.Report($"{path}.priority", "required");
                    }

                    return MapBand(band, path, plugins, errors, band.Priority ?? 0, llmD);
                })
                .ToArray(),
        };

        foreach (string problem in options.Validate())
        {
            errors.Report(SectionPath, problem);
        }

        return options;
    }

    private static UnprovisionedPriorityPolicy MapUnprovisioned(string? name, ValidationErrors errors)
    {
        switch (name)
        {
            case null or UnprovisionedPriorityPolicyNames.JustInTime:
                return UnprovisionedPriorityPolicy.JustInTime;
            case UnprovisionedPriorityPolicyNames.DemoteToZero:
                return UnprovisionedPriorityPolicy.DemoteToZero;
            default:
                // The loader rejects this already; mapping an unvalidated section must not guess.
                errors.Report($"{SectionPath}.unprovisionedPriorityPolicy", $"must be one of {string.Join(", ", UnprovisionedPriorityPolicyNames.All)}; got \"{name}\"");
                return UnprovisionedPriorityPolicy.JustInTime;
        }
    }

    private static PriorityBandOptions MapBand(PriorityBandConfig? band, string path, IReadOnlyDictionary<string, IPlugin> plugins, ValidationErrors errors, int priority, bool llmD)
    {
        // llm-d: a band's request count is always bounded; 0 or omitted is its default.
        var maxRequests = band?.MaxRequests?.Value ?? 0;
        if (llmD && maxRequests == 0)
        {
            maxRequests = LlmDDefaultBandMaxRequests;
        }

        if (band is null)
        {
            return new PriorityBandOptions { Priority = priority, MaxRequests = maxRequests };
        }

        return new PriorityBandOptions
        {
            Priority = priority,
            MaxBytes = band.MaxBytes?.Value ?? PriorityBandOptions.DefaultMaxBytes,
            MaxRequests = maxRequests,
            OrderingPolicy = Resolve<IOrderingPolicy>(band.OrderingPolicyRef, $"{path}.orderingPolicyRef", plugins, errors) ?? FcfsOrderingPolicy.Instance,
            FairnessPolicy = Resolve<IFairnessPolicy>(band.FairnessPolicyRef, $"{path}.fairnessPolicyRef", plugins, errors) ?? GlobalStrictFairnessPolicy.Instance,
        };
    }

    private static T? Resolve<T>(string? reference, string path, IReadOnlyDictionary<string, IPlugin> plugins, ValidationErrors errors)
        where T : class
    {
        if (string.IsNullOrEmpty(reference))
        {
            return null;
        }

        object? policy = plugins.TryGetValue(reference, out IPlugin? plugin)
            ? (plugin as FlowControlPolicyPlugin)?.Policy
            : FlowControlPlugins.DefaultPolicy(reference);
        if (policy is T typed)
        {
            return typed;
        }

        errors.Report(path, plugin is null && policy is null
            ? $"no plugin named \"{reference}\""
            : $"\"{reference}\" is not a {typeof(T).Name.TrimStart('I')} plugin");
        return null;
    }
}
