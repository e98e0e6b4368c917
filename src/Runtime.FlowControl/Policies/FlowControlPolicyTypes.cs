using Runtime.Plugins.BuiltIn;

namespace Runtime.FlowControl.Policies;

/// <summary>
/// Plugin type names of the flow-control policies (SPEC §3). The catalog owns the names; these
/// aliases keep flow-control code readable without repeating the strings.
/// </summary>
public static class FlowControlPolicyTypes
{
    public const string FcfsOrdering = BuiltInPlugins.FcfsOrderingPolicy;
    public const string EdfOrdering = BuiltInPlugins.EdfOrderingPolicy;
    public const string SloDeadlineOrdering = BuiltInPlugins.SloDeadlineOrderingPolicy;
    public const string GlobalStrictFairness = BuiltInPlugins.GlobalStrictFairnessPolicy;
    public const string RoundRobinFairness = BuiltInPlugins.RoundRobinFairnessPolicy;
    public const string StaticUsageLimit = BuiltInPlugins.StaticUsageLimitPolicy;
}
